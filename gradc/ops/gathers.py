"""Gathers by integer index arrays and their adjoints, the scatters that add: take, x[arange(n), labels]
(pick) and take_along_axis.

The indices are a graph operand holding integers (an integer input, declared with `Int`, or a constant index
of one: labels[:, None]); they are never differentiated, so every rule gives None for them. NOTE: repeated
indices gather the same element twice, so an adjoint must add them up: take_add and take_along_axis_add
accumulate with np.add.at semantics, never with a plain assignment (which keeps only the last). pick's rows
are distinct, so its pairs (i, labels[i]) never repeat and its adjoint may assign.
"""
import numpy as np

from gradc import shapes
from gradc.errors import GradcError, ShapeError
from gradc.ops.domain import ANY, INDICES
from gradc.ops.formula import Formula, function
from gradc.ops.registry import Op, call, defop


def _axis(x, axis, op="take"):
    if axis is None and len(x) == 1:
        return 0  # NumPy's take without an axis reads the flattened array: a vector is its own
    if axis is None:
        raise ShapeError(f"{op}(x, indices) of an array of shape {shapes.show(x)} gathers from it flattened: give "
                         "the axis, as in take(X, labels, axis=0) for rows")
    if not -len(x) <= axis < len(x):
        raise ShapeError(f"{op}(..., axis={axis}): no axis {axis} in an array of {len(x)} dimensions")
    return axis % len(x)


def take_shape(x, indices, *, axis):
    axis = _axis(x, axis)
    return tuple(x[:axis]) + tuple(indices) + tuple(x[axis + 1:])


def _take_impl(x, indices, *, axis):
    return np.take(np.asarray(x), np.asarray(indices), axis=axis)


def _take_vjp(g, out, x, indices, *, axis):
    return call("take_add", g, indices, axis=_axis(x.shape, axis), shape=x.shape), None


def _take_jvp(tangents, out, x, indices, *, axis):
    return None if tangents[0] is None else call("take", tangents[0], indices, axis=axis)


TAKE = defop(Op(name="take", arity=2, shape=take_shape, impl=_take_impl, vjp=_take_vjp, jvp=_take_jvp,
                symbol="take", formula=function("take"), names=("take",), keywords=(("axis", None),),
                doc="take(x, indices, axis=None), x[labels], X[:, labels]: x gathered at integer indices along "
                    "an axis",
                domain=(ANY, INDICES), defined_everywhere=True))


def _take_add_impl(g, indices, *, axis, shape):
    result = np.zeros(shape)
    np.add.at(result, (slice(None),) * axis + (np.asarray(indices),), g)
    return result


def _take_add_jvp(tangents, out, g, indices, *, axis, shape):
    return None if tangents[0] is None else call("take_add", tangents[0], indices, axis=axis, shape=shape)


# The adjoint of take: zeros, with each gathered element's gradient added where it was taken from.
TAKE_ADD = defop(Op(name="take_add", arity=2, shape=lambda g, indices, *, axis, shape: tuple(shape),
                    impl=_take_add_impl,
                    vjp=lambda g, out, h, indices, *, axis, shape: (call("take", g, indices, axis=axis), None),
                    jvp=_take_add_jvp, symbol="takeᵀ", formula=function("take_add"),
                    doc="zeros with x added at integer indices along an axis (np.add.at: repeats add up)",
                    domain=(ANY, INDICES), defined_everywhere=True))


def pick_shape(x, indices):
    """x[arange(n), labels]: x of shape (n, c, ...) and labels (n,) give (n, ...)."""
    if len(x) < 2 or tuple(indices) != (x[0],):
        raise ShapeError(f"x[arange({x[0] if x else 'n'}), labels] takes x with two axes or more and labels of shape "
                         f"({x[0] if x else 'n'},), one index per row: got x {shapes.show(x)} and labels "
                         f"{shapes.show(indices)}")
    return (x[0],) + tuple(x[2:])


def _pick_impl(x, indices):
    x = np.asarray(x)
    return x[np.arange(x.shape[0]), np.asarray(indices)]


def _pick_jvp(tangents, out, x, indices):
    return None if tangents[0] is None else call("pick", tangents[0], indices)


PICK = defop(Op(name="pick", arity=2, shape=pick_shape, impl=_pick_impl,
                vjp=lambda g, out, x, indices: (call("pick_put", g, indices, shape=x.shape), None),
                jvp=_pick_jvp, symbol="x[i, yᵢ]",
                formula=Formula("{0:atom}[arange, {1}]", "{0:atom}_{{i, {1}_i}}"),
                doc="Z[arange(n), labels]: from each row i of Z, the element at labels[i]",
                domain=(ANY, INDICES), defined_everywhere=True))


def _pick_put_impl(g, indices, *, shape):
    result = np.zeros(shape)
    result[np.arange(shape[0]), np.asarray(indices)] = g
    return result


def _pick_put_jvp(tangents, out, g, indices, *, shape):
    return None if tangents[0] is None else call("pick_put", tangents[0], indices, shape=shape)


# The adjoint of pick: zeros with row i's gradient at labels[i]. The rows differ, so no two pairs repeat and an
# assignment adds up what np.add.at would (and is faster: no unbuffered loop).
PICK_PUT = defop(Op(name="pick_put", arity=2, shape=lambda g, indices, *, shape: tuple(shape), impl=_pick_put_impl,
                    vjp=lambda g, out, h, indices, *, shape: (call("pick", g, indices), None),
                    jvp=_pick_put_jvp, symbol="x[i, yᵢ]ᵀ", formula=function("pick_put"),
                    doc="zeros with row i of x written at column labels[i] (the adjoint of Z[arange(n), labels])",
                    domain=(ANY, INDICES), defined_everywhere=True))


def along_shape(x, indices, *, axis):
    """NumPy's take_along_axis: indices with x's rank; the other axes broadcast, the axis has the indices' length."""
    axis = _axis(x, axis, "take_along_axis")
    if len(indices) != len(x):
        raise ShapeError(f"take_along_axis: indices of shape {shapes.show(indices)} need as many axes as x "
                         f"{shapes.show(x)}: write labels[:, None] for one index per row")
    others = [shapes.broadcast((a,), (b,), op="take_along_axis")[0] for i, (a, b) in enumerate(zip(x, indices))
              if i != axis]
    return tuple(others[:axis]) + (indices[axis],) + tuple(others[axis:])


def _along_impl(x, indices, *, axis):
    return np.take_along_axis(np.asarray(x), np.asarray(indices), axis=axis)


def _along_vjp(g, out, x, indices, *, axis):
    return call("take_along_axis_add", g, indices, axis=_axis(x.shape, axis), shape=x.shape), None


def _along_jvp(tangents, out, x, indices, *, axis):
    return None if tangents[0] is None else call("take_along_axis", tangents[0], indices, axis=axis)


TAKE_ALONG_AXIS = defop(Op(name="take_along_axis", arity=2, shape=along_shape, impl=_along_impl, vjp=_along_vjp,
                           jvp=_along_jvp, symbol="take_along", formula=function("take_along_axis"),
                           names=("take_along_axis",), keywords=(("axis", -1),),
                           doc="take_along_axis(Z, labels[:, None], axis=1): Z gathered at indices matched to its "
                               "other axes",
                           domain=(ANY, INDICES), defined_everywhere=True))


def along_index(indices, axis, shape):
    """The full index of take_along_axis as NumPy's own: an arange for each other axis, broadcast against the
    indices, which sit at `axis`."""
    rank = len(shape)
    return tuple(indices if i == axis else np.arange(shape[i]).reshape((-1,) + (1,) * (rank - 1 - i))
                 for i in range(rank))


def _along_add_impl(g, indices, *, axis, shape):
    result = np.zeros(shape)
    np.add.at(result, along_index(np.asarray(indices), axis, shape), g)
    return result


def _along_add_jvp(tangents, out, g, indices, *, axis, shape):
    return None if tangents[0] is None else call("take_along_axis_add", tangents[0], indices, axis=axis,
                                                 shape=shape)


# The adjoint of take_along_axis: zeros with the gradient added where each element was taken from (repeats add).
TAKE_ALONG_AXIS_ADD = defop(Op(
    name="take_along_axis_add", arity=2, shape=lambda g, indices, *, axis, shape: tuple(shape),
    impl=_along_add_impl,
    vjp=lambda g, out, h, indices, *, axis, shape: (call("take_along_axis", g, indices, axis=axis), None),
    jvp=_along_add_jvp, symbol="take_alongᵀ", formula=function("take_along_axis_add"),
    doc="zeros with x added at indices along an axis (the adjoint of take_along_axis; np.add.at: repeats add up)",
    domain=(ANY, INDICES), defined_everywhere=True))


GATHERS = {"take": None, "take_along_axis": None, "pick": 1}  # op -> the axis its indices index (None: its axis)


def index_reads(graph):
    """(gather node, integer input, the dimension its values index) for each gather in `graph` whose indices are an
    integer input's values (labels, labels[:, None], labels[perm]): what the entry checks and gradc check's draws
    keep in range."""
    for node in graph.order():
        op = graph[node]["op"]
        if op not in GATHERS:
            continue
        x, indices = graph.args(node)
        axis = GATHERS[op] if GATHERS[op] is not None else _axis(graph.shape(x), graph.attrs(node)["axis"], op)
        while graph[indices]["op"] == "index" or graph[indices]["op"] in GATHERS:
            indices = graph.args(indices)[0]
        if graph.is_integer(indices):
            yield node, graph[indices]["name"], graph.shape(x)[axis]


def indices(value, what):
    """`value` as an array of integers, or a GradcError naming `what`: the values gradc itself takes for an
    integer input (the points of pictures and checks). Whole numbers written as floats (the command line's
    `--at labels=0,2`) become integers; any other number is refused rather than cut."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # a ragged list
        raise GradcError(f"{what} is not an array of integers: {error}") from None
    if array.dtype.kind == "f" and array.ndim and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        return array.astype(np.int64)
    if array.dtype.kind not in "iu" or array.ndim == 0:
        raise GradcError(f"{what} holds indices: it must be an array of integers, not {array.dtype}"
                         + (" (a scalar)" if array.ndim == 0 else ""))
    return array
