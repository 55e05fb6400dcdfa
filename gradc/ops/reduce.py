"""Reductions and the shape plumbing that differentiation inserts: sum_to, broadcast_to, expand_dims."""
import math

import numpy as np

from gradc import shapes
from gradc.ops.registry import Op, Value, call, defop, linear


def _axes_text(axis):
    return str(axis) if isinstance(axis, int) or len(axis) != 1 else str(axis[0])


def _emit_reduction(method, x, shape, axis, keepdims):
    """`x.sum()`, `x.max(axis=1)`: the method skips `np.sum`'s Python-level dispatch (~1 us a call)."""
    if not shape:
        return f"np.{method}({x})"
    arguments = ([] if axis is None else [f"axis={_axes_text(axis)}"]) + (["keepdims=True"] if keepdims else [])
    return f"{x}.{method}({', '.join(arguments)})"


def _emit_sum(x, shape, axis, keepdims):
    """A sum over some axes of an array as `np.einsum("ij->j", x)`, over all of them as `x.sum()`.

    NumPy's `sum` along an axis iterates the other axes one short inner loop at a time: on a (4096, 32)
    array einsum takes 36 us where `x.sum(axis=0)` takes 76 us, and on (10^5, 10) along axis 1, 0.4 ms
    against 2 ms (benchmarks/RESULTS.md).
    """
    ndim = len(shape)
    axes = () if axis is None else shapes.normalize_axes(shape, axis)
    if not axes or len(axes) == ndim:
        return _emit_reduction("sum", x, shape, axis if keepdims else None, keepdims)
    letters = "ijklmnopqrstuvwxyz"[:ndim]
    kept = "".join(letter for i, letter in enumerate(letters) if i not in axes)
    text = f'np.einsum("{letters}->{kept}", {x})'
    if keepdims:
        index = ["None" if i in axes else ":" for i in range(ndim)]
        while index[-1] == ":":
            index.pop()
        text += f"[{', '.join(index)}]"
    return text


def expand_reduced(g, x_shape, axis, keepdims=False):
    """The adjoint of a reduction, given back the reduced axes so it broadcasts against the input."""
    if keepdims or axis is None or g.shape == ():
        return g  # a kept axis or a scalar broadcasts as it is
    return call("expand_dims", g, axis=shapes.normalize_axes(x_shape, axis))


def count(like, dims):
    """The number of elements of `dims` as a Value in `like`'s graph (a constant when the dims are ints)."""
    graph = like.graph
    if all(isinstance(d, int) for d in dims):
        return Value(graph, graph.const(math.prod(dims)))
    return Value(graph, graph.add("size", dims=tuple(dims)))


def _sum_vjp(g, out, x, *, axis, keepdims):
    return (expand_reduced(g, x.shape, axis, keepdims),)


def _mean_vjp(g, out, x, *, axis, keepdims):
    reduced = tuple(x.shape[a] for a in shapes.normalize_axes(x.shape, axis))
    return (expand_reduced(g, x.shape, axis, keepdims) / count(g, reduced),)


SUM = defop(Op(name="sum", arity=1, shape=lambda x, *, axis, keepdims: shapes.reduce(x, axis, keepdims, "sum"),
               emit=lambda ctx, x, *, axis, keepdims: _emit_sum(x, ctx.arg_shapes[0], axis, keepdims),
               impl=lambda x, *, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
               vjp=_sum_vjp, jvp=linear("sum"), symbol="Σ", scalar_adjoint=True, doc="sum(x, axis=None)"))
MEAN = defop(Op(name="mean", arity=1,
                shape=lambda x, *, axis, keepdims: shapes.reduce(x, axis, keepdims, "mean"),
                emit=lambda ctx, x, *, axis, keepdims: _emit_reduction("mean", x, ctx.arg_shapes[0], axis, keepdims),
                impl=lambda x, *, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
                vjp=_mean_vjp, jvp=linear("mean"), symbol="mean", scalar_adjoint=True, doc="mean(x, axis=None)"))


def _extreme(out, x, axis, keepdims, compare):
    """The 0/1 mask of x's extreme elements: those that `compare` (ge for a max, le for a min) to the result."""
    peak = out if keepdims or axis is None else call("expand_dims", out, axis=shapes.normalize_axes(x.shape, axis))
    return call(compare, x, peak)


# NOTE: tied extreme elements split the gradient evenly (as JAX does): max([1, 3, 3]) gives [0, 0.5, 0.5], a
# subgradient, where the full gradient to each would sum to 2.
def _chooser_vjp(compare):
    def vjp(g, out, x, *, axis, keepdims):
        mask = _extreme(out, x, axis, keepdims, compare)
        ties = call("sum", mask, axis=axis, keepdims=True)
        return (expand_reduced(g, x.shape, axis, keepdims) * (mask / ties),)
    return vjp


def _chooser_jvp(compare):
    def jvp(tangents, out, x, *, axis, keepdims):
        mask = _extreme(out, x, axis, keepdims, compare)
        return call("sum", tangents[0] * mask, axis=axis, keepdims=keepdims) / call("sum", mask, axis=axis,
                                                                                     keepdims=keepdims)
    return jvp


def _emit_amax(ctx, x, *, axis, keepdims):
    """`_row_max(x)` (a helper in the module) for the largest element of each row of a matrix."""
    shape = ctx.arg_shapes[0]
    if len(shape) == 2 and axis is not None and shapes.normalize_axes(shape, axis) == (1,):
        return f"_row_max({x})" if keepdims else f"_row_max({x})[:, 0]"
    return _emit_reduction("max", x, shape, axis, keepdims)


AMAX = defop(Op(name="amax", arity=1, shape=lambda x, *, axis, keepdims: shapes.reduce(x, axis, keepdims, "amax"),
                emit=_emit_amax,
                impl=lambda x, *, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
                vjp=_chooser_vjp("ge"), jvp=_chooser_jvp("ge"), symbol="max", public=False, scalar_adjoint=True,
                doc="largest element along axis"))
AMIN = defop(Op(name="amin", arity=1, shape=lambda x, *, axis, keepdims: shapes.reduce(x, axis, keepdims, "amin"),
                emit=lambda ctx, x, *, axis, keepdims: _emit_reduction("min", x, ctx.arg_shapes[0], axis, keepdims),
                impl=lambda x, *, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims),
                vjp=_chooser_vjp("le"), jvp=_chooser_jvp("le"), symbol="min", public=False, scalar_adjoint=True,
                doc="smallest element along axis"))


# The element count of a shape with named dimensions: the divisor of a mean's gradient.
# NOTE: written in place, so a product `n * d` needs parentheses (`1.0 / (n * d)`, not `1.0 / n * d`).
SIZE = defop(Op(name="size", arity=0, shape=lambda *, dims: (),
                emit=lambda ctx, *, dims: f"({ctx.size(dims)})" if len(dims) > 1 else ctx.size(dims),
                impl=lambda *, dims: float(math.prod(dims)), public=False, doc="number of elements"))


def _sum_to_shape(x, *, shape):
    """Summing x down to `shape`: leading axes go, and axes where `shape` has 1 are kept as 1."""
    lead = len(x) - len(shape)
    return tuple(1 if t == 1 else s for s, t in zip(x[lead:], shape))


def sum_to_axes(x_shape, shape):
    lead = len(x_shape) - len(shape)
    kept = tuple(lead + i for i, (s, t) in enumerate(zip(x_shape[lead:], shape)) if t == 1 and s != 1)
    return tuple(range(lead)), kept


def _emit_sum_to(ctx, x, *, shape):
    x_shape = ctx.arg_shapes[0]
    lead, kept = sum_to_axes(x_shape, shape)
    if kept and lead:
        kept_shape = tuple(1 if i in kept else d for i, d in enumerate(x_shape))
        return _emit_sum(_emit_sum(x, x_shape, kept, True), kept_shape, lead, False)
    return _emit_sum(x, x_shape, kept or lead, bool(kept))


def _sum_to_impl(x, *, shape):
    x = np.asarray(x)
    lead, kept = sum_to_axes(x.shape, shape)
    if kept:
        x = np.sum(x, axis=kept, keepdims=True)
    return np.sum(x, axis=lead) if lead else x


SUM_TO = defop(Op(name="sum_to", arity=1, shape=_sum_to_shape, emit=_emit_sum_to, impl=_sum_to_impl,
                  vjp=lambda g, out, x, *, shape: (g,), jvp=linear("sum_to"), symbol="Σ", public=False,
                  doc="sum a broadcast gradient back to an operand's shape"))
BROADCAST_TO = defop(Op(name="broadcast_to", arity=1,
                        shape=lambda x, *, shape: shapes.broadcast(x, shape, op="broadcast_to"),
                        emit=lambda ctx, x, *, shape: f"np.broadcast_to({x}, {ctx.shape(shape)})",
                        impl=lambda x, *, shape: np.broadcast_to(x, shape),
                        vjp=lambda g, out, x, *, shape: (g,), jvp=linear("broadcast_to"), view=True,
                        public=False,
                        doc="view x with a larger shape"))


def _expand_dims_shape(x, *, axis):
    result = list(x)
    for a in axis:
        result.insert(a, 1)
    return tuple(result)


def _emit_expand_dims(ctx, x, *, axis):
    index = ["None" if i in axis else ":" for i in range(len(ctx.arg_shapes[0]) + len(axis))]
    while index and index[-1] == ":":
        index.pop()
    return f"{x}[{', '.join(index)}]"


EXPAND_DIMS = defop(Op(name="expand_dims", arity=1, shape=_expand_dims_shape, emit=_emit_expand_dims,
                       impl=lambda x, *, axis: np.expand_dims(x, axis),
                       vjp=lambda g, out, x, *, axis: (call("sum", g, axis=axis, keepdims=False),),
                       jvp=linear("expand_dims"), view=True, public=False, doc="insert axes of length 1"))
ZEROS = defop(Op(name="zeros", arity=0, shape=lambda *, shape: shape,
                 emit=lambda ctx, *, shape: f"np.zeros({ctx.shape(shape)})" if shape else "0.0",
                 impl=lambda *, shape: np.zeros(shape), public=False,
                 doc="the gradient of an input the output does not depend on"))


def _squeeze_shape(x, *, axis):
    return tuple(d for i, d in enumerate(x) if i not in axis)


SQUEEZE = defop(Op(name="squeeze", arity=1, shape=_squeeze_shape,
                   emit=lambda ctx, x, *, axis: f"np.squeeze({x}, axis={ctx.axes(axis)})",
                   impl=lambda x, *, axis: np.squeeze(x, axis=axis),
                   vjp=lambda g, out, x, *, axis: (g if g.shape == () else call("expand_dims", g, axis=axis),),
                   jvp=linear("squeeze"), view=True, public=False, scalar_adjoint=True, doc="drop axes of length 1"))
