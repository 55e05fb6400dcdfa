"""Matrix products and transposes."""
import numpy as np

from gradc import shapes
from gradc.errors import ShapeError
from gradc.ops.domain import ANY
from gradc.ops.formula import ATOM, PRODUCT, Formula, function, infix
from gradc.ops.registry import Op, call, defop, each, linear


def matmul_shape(a, b):
    if not (1 <= len(a) <= 2 and 1 <= len(b) <= 2):
        raise ShapeError(f"@: operands must be vectors or matrices, got shapes {shapes.show(a)} and {shapes.show(b)}")
    inner_a = a[-1]
    inner_b = b[0]
    if inner_a != inner_b:
        raise ShapeError(f"@: shapes {shapes.show(a)} and {shapes.show(b)} do not align "
                         f"({inner_a} != {inner_b}; give dimensions that must agree the same name)")
    return a[:-1] + b[1:]


def _matmul_vjp(g, out, a, b):
    if a.ndim == 2 and b.ndim == 2:
        return g @ b.T, a.T @ g
    if a.ndim == 2:  # matrix @ vector
        return call("outer", g, b), a.T @ g
    if b.ndim == 2:  # vector @ matrix
        return b @ g, call("outer", a, g)
    return g * b, g * a  # vector @ vector


MATMUL = defop(Op(name="matmul", arity=2, shape=matmul_shape, impl=np.matmul,
                  vjp=_matmul_vjp, jvp=lambda t, out, a, b: each(t, lambda ta: ta @ b, lambda tb: a @ tb),
                  symbol="@", doc="a @ b or dot(a, b): matrix and vector products", names=("dot", "matmul"),
                  operator="@", formula=infix("@", "", PRODUCT), domain=(ANY, ANY), defined_everywhere=True))


def _outer_shape(a, b):
    if len(a) != 1 or len(b) != 1:
        raise ShapeError(f"outer: operands must be vectors, got {shapes.show(a)} and {shapes.show(b)}")
    return a + b


# Written `_outer(a, b)`, a helper in the module (templates/helpers.py.j2) that beats np.outer at every size.
OUTER = defop(Op(name="outer", arity=2, shape=_outer_shape, impl=np.outer,
                 vjp=lambda g, out, a, b: (g @ b, a @ g),
                 jvp=lambda t, out, a, b: each(t, lambda ta: call("outer", ta, b), lambda tb: call("outer", a, tb)),
                 symbol="⊗", doc="outer product of two vectors",
                 formula=Formula("outer({arguments})", r"{0:atom} {1:atom}^\top", ATOM, latex_prec=PRODUCT),
                 domain=(ANY, ANY), defined_everywhere=True))


TRANSPOSE = defop(Op(name="transpose", arity=1, shape=lambda x: x[::-1],
                     impl=np.transpose, vjp=lambda g, out, x: (g.T,), jvp=linear("transpose"), symbol="ᵀ",
                     view=True, scalar_adjoint=True, inline=True, names=("transpose",), operator=".T",
                     formula=Formula("{0:atom}.T", r"{0:atom}^\top", terse=True),
                     doc="x.T or transpose(x): reverse the axes", domain=(ANY,), defined_everywhere=True))


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
