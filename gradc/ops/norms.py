"""np.linalg.norm: vector norms along an axis, matrix norms over a pair of axes, with NumPy's `ord` and `keepdims`."""
import math

import numpy as np

from gradc import shapes
from gradc.errors import ShapeError
from gradc.ops.domain import KINKED
from gradc.ops.formula import ATOM, Formula, Piece
from gradc.ops.reduce import slice_rules
from gradc.ops.registry import Op, call, defop

INF = math.inf
MATRIX_ORDS = (None, "fro", 1, -1, INF, -INF)


def classify(x, ord, axis):
    """("vector", (a,)), ("matrix", (row, col)) or ("flat", all axes): which norm NumPy takes, and over which axes.

    Axis None is a vector's norm for a vector, a matrix's for a matrix, and with ord None the 2-norm of every
    element for any array; a matrix pair keeps NumPy's order, since ord 1 sums its first axis and inf its second.
    """
    if axis is None:
        if ord is None:
            return "flat", tuple(range(len(x)))
        if len(x) not in (1, 2):
            raise ShapeError(f"norm: ord={ord!r} needs a vector or a matrix (or an axis), got shape {shapes.show(x)}")
        axis = tuple(range(len(x)))
    axes = axis if isinstance(axis, tuple) else (axis,)
    if len(axes) not in (1, 2):
        raise ShapeError(f"norm: axis takes one axis (a vector norm) or two (a matrix norm), got {axis!r}")
    normalized = tuple(a % len(x) if -len(x) <= a < len(x) else a for a in axes)
    shapes.normalize_axes(x, axes, "norm")
    if len(set(normalized)) != len(normalized):
        raise ShapeError(f"norm: the matrix axes {axis!r} are one axis twice")
    kind = "vector" if len(axes) == 1 else "matrix"
    _check_ord(kind, ord)
    return kind, normalized


def _check_ord(kind, ord):
    if kind == "vector" and (isinstance(ord, str) or ord == 0):
        reason = "counts the nonzero elements, which has no gradient" if ord == 0 else "is a matrix norm"
        raise ShapeError(f"norm: ord={ord!r} {reason}: a vector takes ord None, 2, 1, inf, -inf or a number p")
    if kind == "matrix" and ord not in MATRIX_ORDS:
        hint = " (the spectral and nuclear norms, from the SVD, are not supported)" if ord in (2, -2, "nuc") else ""
        raise ShapeError(f"norm: ord={ord!r} is not a matrix norm gradc takes{hint}: a matrix takes ord None, "
                         "'fro', 1, -1, inf or -inf")


def _shape(x, *, ord, axis, keepdims):
    _, axes = classify(x, ord, axis)
    return shapes.reduce(x, axes, keepdims, "norm")


def _split(mask, axes):
    """A 0/1 mask of the extreme elements with the gradient shared evenly among ties, as max does (JAX's)."""
    return mask / call("sum", mask, axis=axes, keepdims=True)


def _extreme(scores, ord, axes):
    """The mask of the largest (ord > 0) or smallest scores along axes.

    NOTE: compared with their own max, not with the norm's result: NumPy may sum a matrix's columns in another
    order than the graph does, and a mask against a differently rounded norm could be all 0 (so 0/0)."""
    peak = call("amax" if ord > 0 else "amin", scores, axis=axes, keepdims=True)
    return _split(call("ge" if ord > 0 else "le", scores, peak), axes)


def _direction(out, x, *, ord, axis, keepdims):
    """d norm / d x, shaped like x; `out` has the reduced axes kept."""
    kind, axes = classify(x.shape, ord, axis)
    if ord in (None, 2, "fro"):
        return x / out
    if kind == "vector":
        if ord == 1:
            return call("sign", x)
        if abs(ord) == INF:
            return call("sign", x) * _extreme(call("abs", x), ord, axes)
        return call("sign", x) * call("abs", x) ** (ord - 1) / out ** (ord - 1)
    # ord 1 is the largest column sum (sum along the first axis), inf the largest row sum (along the second)
    summed, chosen = (axes[0], axes[1]) if abs(ord) == 1 else (axes[1], axes[0])
    scores = call("sum", call("abs", x), axis=summed, keepdims=True)
    return call("sign", x) * _extreme(scores, ord, chosen)


def _latex(p, node, x, *, ord, axis, keepdims):
    below = {None: "", INF: r"\infty", -INF: r"-\infty", "fro": "F"}.get(ord, f"{ord:g}" if ord is not None else "")
    return Piece(rf"\left\lVert {x.text} \right\rVert" + (f"_{{{below}}}" if below else ""), ATOM)


_RULES = slice_rules(_direction)
NORM = defop(Op(name="norm", arity=1, shape=_shape,
                impl=lambda x, *, ord=None, axis=None, keepdims=False: np.linalg.norm(x, ord=ord, axis=axis,
                                                                                      keepdims=keepdims),
                vjp=_RULES[0], jvp=_RULES[1], symbol="‖‖", scalar_adjoint=True, names=("norm",),
                keywords=(("ord", None), ("axis", None), ("keepdims", False)),
                doc="linalg.norm(x, ord=None, axis=None, keepdims=False): ord None, 2, 1, inf, -inf or p for vectors; "
                    "None, 'fro', 1, -1, inf, -inf for matrices",
                formula=Formula("norm({arguments})", _latex), domain=(KINKED,)))
