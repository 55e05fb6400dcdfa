"""np.linalg.norm: vector norms along an axis, matrix norms over a pair of axes, with NumPy's `ord` and `keepdims`."""
import math

import numpy as np

from gradc import shapes
from gradc.errors import DifferentiationError, ShapeError
from gradc.ops.domain import KINKED, Domain
from gradc.ops.formula import ATOM, Formula, Piece, function
from gradc.ops.reduce import slice_rules
from gradc.ops.registry import Op, call, defop

INF = math.inf
MATRIX_ORDS = (None, "fro", 1, -1, INF, -INF, 2, -2, "nuc")
SINGULAR = (2, -2, "nuc")  # the matrix norms of the singular values: the largest, the smallest, their sum


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
    if kind == "matrix" and ord in SINGULAR and len(x) != 2:
        raise ShapeError(f"norm: ord={ord!r} (from the SVD) takes a matrix, got shape {shapes.show(x)}: index one "
                         "matrix out of the stack")
    return kind, normalized


def _check_ord(kind, ord):
    if kind == "vector" and (isinstance(ord, str) or ord == 0):
        reason = "counts the nonzero elements, which has no gradient" if ord == 0 else "is a matrix norm"
        raise ShapeError(f"norm: ord={ord!r} {reason}: a vector takes ord None, 2, 1, inf, -inf or a number p")
    if kind == "matrix" and ord not in MATRIX_ORDS:
        raise ShapeError(f"norm: ord={ord!r} is not a matrix norm: a matrix takes ord None, 'fro', 1, -1, inf, -inf, "
                         "2, -2 or 'nuc'")


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
    if ord in (None, "fro") or ord == 2 and kind != "matrix":  # the 2-norm of the elements
        return x / out
    if kind == "matrix" and ord in SINGULAR:
        return call("singular_direction", x, ord=ord)
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


_SUBSCRIPTS = {INF: r"\infty", -INF: r"-\infty", "fro": "F", "nuc": "*"}


def _latex(p, node, x, *, ord, axis, keepdims):
    below = "" if ord is None else _SUBSCRIPTS[ord] if ord in _SUBSCRIPTS else f"{ord:g}"
    return Piece(rf"\left\lVert {x.text} \right\rVert" + (f"_{{{below}}}" if below else ""), ATOM)


_NORM_VJP, _NORM_JVP = slice_rules(_direction)
NORM = defop(Op(name="norm", arity=1, shape=_shape,
                impl=lambda x, *, ord=None, axis=None, keepdims=False: np.linalg.norm(x, ord=ord, axis=axis,
                                                                                      keepdims=keepdims),
                vjp=_NORM_VJP, jvp=_NORM_JVP, symbol="‖‖", scalar_adjoint=True, names=("norm",),
                keywords=(("ord", None), ("axis", None), ("keepdims", False)),
                doc="linalg.norm(x, ord=None, axis=None, keepdims=False): ord None, 2, 1, inf, -inf or p for vectors; "
                    "None, 'fro', 1, -1, inf, -inf, 2, -2, 'nuc' for matrices (2, -2, 'nuc': gradient only)",
                formula=Formula("norm({arguments})", _latex), domain=(KINKED,)))


def _singular_direction(x, *, ord):
    """d norm / d X for a matrix norm of the singular values: u1 v1^T (ord 2), uk vk^T (-2), U V^T ('nuc')."""
    u, _, vt = np.linalg.svd(x, full_matrices=False)
    if ord == "nuc":
        return u @ vt
    i = 0 if ord == 2 else -1
    return np.outer(u[:, i], vt[i])


def _once(*args, ord, **attrs):
    raise DifferentiationError(f"norm(X, ord={ord!r}) of a matrix is differentiated once: its second derivative, "
                               "through the SVD's singular vectors, is not supported (ord='fro' has one)")


# NOTE: a singular value's gradient u v^T holds where that value is simple (the nuclear norm's U V^T where
# every value is nonzero); at a repeated one it is one subgradient among many. Its rules raise: no Hessians.
SINGULAR_DIRECTION = defop(Op(name="singular_direction", arity=1, shape=lambda x, *, ord: x,
                              impl=_singular_direction, vjp=_once, jvp=_once, symbol="uvᵀ",
                              doc="the gradient of a matrix's spectral (2, -2) or nuclear norm, from its SVD",
                              formula=function("singular_direction"), defined_everywhere=True,
                              domain=(Domain(-2.0, 2.0, need="{}'s singular values distinct and nonzero"),)))
