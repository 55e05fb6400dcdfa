"""Transposes, the identity and the trace (the products are in contractions.py)."""
import numpy as np

from gradc import shapes
from gradc.errors import ShapeError
from gradc.ops.domain import ANY
from gradc.ops.formula import ATOM, Formula, Piece, function
from gradc.ops.registry import Op, call, defop, linear


def _transpose_text(p, node, x, *, axes=None):
    if axes is None:
        return Piece(f"{p.wrap(x, ATOM)}.T", ATOM)
    return Piece(f"transpose({x.text}, axes={axes!r})", ATOM)


def _transpose_latex(p, node, x, *, axes=None):
    if axes is None:
        return Piece(rf"{p.wrap(x, ATOM)}^\top", ATOM)
    return Piece(rf"\operatorname{{transpose}}\left({x.text}, {', '.join(map(str, axes))}\right)", ATOM)


def _transpose_vjp(g, out, x, *, axes=None):
    if axes is None or g.ndim == 0:  # a scalar adjoint stands for one broadcast: permuted, it is the same
        return (g.T,)
    return (call("transpose", g, axes=tuple(int(i) for i in np.argsort(shapes.permutation(x.shape, axes)))),)


# x.T and transpose(x) reverse the axes (axes=None); transpose(x, axes) permutes them, the adjoint by the inverse.
TRANSPOSE = defop(Op(name="transpose", arity=1,
                     shape=lambda x, *, axes=None: tuple(x[i] for i in shapes.permutation(x, axes)),
                     impl=lambda x, *, axes=None: np.transpose(x, axes), vjp=_transpose_vjp, jvp=linear("transpose"),
                     symbol="ᵀ", view=True, scalar_adjoint=True, inline=True,
                     names=("transpose", "permute_dims"), operator=".T",
                     keywords=(("axes", None),), positional=1,
                     formula=Formula(_transpose_text, _transpose_latex, terse=True),
                     doc="x.T, transpose(x) or transpose(x, axes): reverse the axes, or permute them as axes says",
                     domain=(ANY,), defined_everywhere=True))


def _trace_shape(x):
    if len(x) != 2 or x[0] != x[1]:
        raise ShapeError(f"trace: the operand must be a square matrix, got shape {shapes.show(x)} "
                         "(give both dimensions the same name: X (n, n))")
    return ()


# d trace(X) = I: the adjoint g (a scalar) times the identity (Matrix Cookbook (100)).
TRACE = defop(Op(name="trace", arity=1, shape=_trace_shape, impl=np.trace,
                 vjp=lambda g, out, x: (g * call("eye", shape=x.shape, like=x),), jvp=linear("trace"),
                 symbol="tr", doc="sum of the diagonal of a square matrix", names=("trace",),
                 formula=function("trace", r"\operatorname{tr}"), domain=(ANY,), defined_everywhere=True))
