"""Reductions and the shape plumbing that differentiation inserts: sum_to, broadcast_to, expand_dims."""
import math

import numpy as np

from gradc import shapes
from gradc.ops.registry import Op, Value, call, defop, linear


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
               impl=lambda x, *, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
               vjp=_sum_vjp, jvp=linear("sum"), symbol="Σ", scalar_adjoint=True, doc="sum(x, axis=None)"))
MEAN = defop(Op(name="mean", arity=1,
                shape=lambda x, *, axis, keepdims: shapes.reduce(x, axis, keepdims, "mean"),
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


AMAX = defop(Op(name="amax", arity=1, shape=lambda x, *, axis, keepdims: shapes.reduce(x, axis, keepdims, "amax"),
                impl=lambda x, *, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
                vjp=_chooser_vjp("ge"), jvp=_chooser_jvp("ge"), symbol="max", public=False, scalar_adjoint=True,
                doc="largest element along axis"))
AMIN = defop(Op(name="amin", arity=1, shape=lambda x, *, axis, keepdims: shapes.reduce(x, axis, keepdims, "amin"),
                impl=lambda x, *, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims),
                vjp=_chooser_vjp("le"), jvp=_chooser_jvp("le"), symbol="min", public=False, scalar_adjoint=True,
                doc="smallest element along axis"))


# The element count of a shape with named dimensions: the divisor of a mean's gradient.
# NOTE: written in place, so a product `n * d` needs parentheses (`1.0 / (n * d)`, not `1.0 / n * d`).
SIZE = defop(Op(name="size", arity=0, shape=lambda *, dims: (),
                impl=lambda *, dims: float(math.prod(dims)), public=False, doc="number of elements"))


def _sum_to_shape(x, *, shape):
    """Summing x down to `shape`: leading axes go, and axes where `shape` has 1 are kept as 1."""
    lead = len(x) - len(shape)
    return tuple(1 if t == 1 else s for s, t in zip(x[lead:], shape))


def sum_to_axes(x_shape, shape):
    lead = len(x_shape) - len(shape)
    kept = tuple(lead + i for i, (s, t) in enumerate(zip(x_shape[lead:], shape)) if t == 1 and s != 1)
    return tuple(range(lead)), kept


def _sum_to_impl(x, *, shape):
    x = np.asarray(x)
    lead, kept = sum_to_axes(x.shape, shape)
    if kept:
        x = np.sum(x, axis=kept, keepdims=True)
    return np.sum(x, axis=lead) if lead else x


SUM_TO = defop(Op(name="sum_to", arity=1, shape=_sum_to_shape, impl=_sum_to_impl,
                  vjp=lambda g, out, x, *, shape: (g,), jvp=linear("sum_to"), symbol="Σ", public=False,
                  doc="sum a broadcast gradient back to an operand's shape"))
BROADCAST_TO = defop(Op(name="broadcast_to", arity=1,
                        shape=lambda x, *, shape: shapes.broadcast(x, shape, op="broadcast_to"),
                        impl=lambda x, *, shape: np.broadcast_to(x, shape),
                        vjp=lambda g, out, x, *, shape: (g,), jvp=linear("broadcast_to"), view=True,
                        public=False,
                        doc="view x with a larger shape"))


def _expand_dims_shape(x, *, axis):
    result = list(x)
    for a in axis:
        result.insert(a, 1)
    return tuple(result)


EXPAND_DIMS = defop(Op(name="expand_dims", arity=1, shape=_expand_dims_shape,
                       impl=lambda x, *, axis: np.expand_dims(x, axis),
                       vjp=lambda g, out, x, *, axis: (call("sum", g, axis=axis, keepdims=False),),
                       jvp=linear("expand_dims"), view=True, public=False, doc="insert axes of length 1"))
ZEROS = defop(Op(name="zeros", arity=0, shape=lambda *, shape: shape,
                 impl=lambda *, shape: np.zeros(shape), public=False,
                 doc="the gradient of an input the output does not depend on"))


def _squeeze_shape(x, *, axis):
    return tuple(d for i, d in enumerate(x) if i not in axis)


SQUEEZE = defop(Op(name="squeeze", arity=1, shape=_squeeze_shape,
                   impl=lambda x, *, axis: np.squeeze(x, axis=axis),
                   vjp=lambda g, out, x, *, axis: (g if g.shape == () else call("expand_dims", g, axis=axis),),
                   jvp=linear("squeeze"), view=True, public=False, scalar_adjoint=True, doc="drop axes of length 1"))
