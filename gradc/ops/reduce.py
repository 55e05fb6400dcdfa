"""Reductions, and the shape plumbing that differentiation inserts (sum_to, broadcast_to, expand_dims, squeeze)."""
import math

import numpy as np

from gradc import dimensions, shapes
from gradc.errors import ShapeError
from gradc.ops.domain import ANY, Domain
from gradc.ops.formula import ALWAYS, ATOM, POWER, PRECEDENCE, PRODUCT, UNDER_ELEMENTWISE, Formula, Piece, function, printed
from gradc.ops.registry import Op, Value, call, defop, linear

# NumPy's reductions' keywords, as the source may give them: sum(x, axis=None, keepdims=False).
REDUCTION = (("axis", None), ("keepdims", False))


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


def _sum_latex(p, node, x, *, axis, keepdims):
    below = "" if axis is None else rf"_{{\mathrm{{axis}}={axis}}}"
    return Piece(rf"\sum{below} {p.wrap(x, POWER)}", PRODUCT)


SUM = defop(Op(name="sum", arity=1, shape=lambda x, *, axis, keepdims: shapes.reduce(x, axis, keepdims, "sum"),
               impl=lambda x, *, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
               vjp=_sum_vjp, jvp=linear("sum"), symbol="Σ", scalar_adjoint=True,
               doc="sum(x, axis=None, keepdims=False)",
               names=("sum",), keywords=REDUCTION, formula=Formula("sum({arguments})", _sum_latex),
               domain=(ANY,), defined_everywhere=True))
MEAN = defop(Op(name="mean", arity=1,
                shape=lambda x, *, axis, keepdims: shapes.reduce(x, axis, keepdims, "mean"),
                impl=lambda x, *, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
                vjp=_mean_vjp, jvp=linear("mean"), symbol="mean", scalar_adjoint=True,
                doc="mean(x, axis=None, keepdims=False)",
                names=("mean",), keywords=REDUCTION, formula=function("mean"), domain=(ANY,),
                defined_everywhere=True))


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
                vjp=_chooser_vjp("ge"), jvp=_chooser_jvp("ge"), symbol="max", scalar_adjoint=True,
                doc="max(x, axis=None, keepdims=False): largest element; tied maxima share the gradient evenly (JAX)",
                names=("max", "amax"), keywords=REDUCTION,
                formula=function("max", r"\max"), domain=(ANY,), defined_everywhere=True))
AMIN = defop(Op(name="amin", arity=1, shape=lambda x, *, axis, keepdims: shapes.reduce(x, axis, keepdims, "amin"),
                impl=lambda x, *, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims),
                vjp=_chooser_vjp("le"), jvp=_chooser_jvp("le"), symbol="min", scalar_adjoint=True,
                doc="min(x, axis=None, keepdims=False): smallest element; tied minima share the gradient evenly",
                names=("min", "amin"), keywords=REDUCTION,
                formula=function("min", r"\min"), domain=(ANY,), defined_everywhere=True))


def kept(out, x_shape, axis, keepdims):
    """A reduction's result given back its reduced axes (as keepdims=True would), so it broadcasts against x."""
    if keepdims or axis is None or out.shape == ():
        return out
    return call("expand_dims", out, axis=shapes.normalize_axes(x_shape, axis))


def slice_rules(direction):
    """The VJP and JVP of a reduction each of whose results depends on its own slice of x alone.

    `direction(out, x, **attrs)` is d out / d x, shaped like x, given `out` with its reduced axes kept: the VJP
    spreads the adjoint over the slice by it, the JVP sums the tangent against it over the slice.
    """
    def vjp(g, out, x, **attrs):
        axis, keepdims = attrs["axis"], attrs["keepdims"]
        return (expand_reduced(g, x.shape, axis, keepdims) * direction(kept(out, x.shape, axis, keepdims), x, **attrs),)

    def jvp(tangents, out, x, **attrs):
        axis, keepdims = attrs["axis"], attrs["keepdims"]
        slope = direction(kept(out, x.shape, axis, keepdims), x, **attrs)
        return call("sum", tangents[0] * slope, axis=axis, keepdims=keepdims)
    return vjp, jvp


def _prod_others(x, *, axis=None):
    """Each element's product of the other elements of its slice along `axis`: exclusive products from the left
    times those from the right, with no division, so exact where the slice holds zeros."""
    x = np.asarray(x, dtype=float)
    axes = shapes.normalize_axes(x.shape, axis)
    last = tuple(range(x.ndim - len(axes), x.ndim))
    moved = np.moveaxis(x, axes, last)
    flat = moved.reshape(moved.shape[:moved.ndim - len(axes)] + (-1,))
    ones = np.ones_like(flat[..., :1])
    left = np.concatenate([ones, np.cumprod(flat[..., :-1], axis=-1)], axis=-1)
    right = np.concatenate([np.cumprod(flat[..., :0:-1], axis=-1)[..., ::-1], ones], axis=-1)
    return np.moveaxis((left * right).reshape(moved.shape), last, axes)


def along(x, axis, op):
    """The shape of an op that keeps x's shape and works along `axis`, checked."""
    shapes.normalize_axes(x, axis, op)
    return x


# d prod / d x_i is the product of the others: exact with zeros (with one zero, only its own partial is not 0)
_PROD_VJP, _PROD_JVP = slice_rules(lambda out, x, *, axis, keepdims: call("prod_others", x, axis=axis))
PROD = defop(Op(name="prod", arity=1, shape=lambda x, *, axis, keepdims: shapes.reduce(x, axis, keepdims, "prod"),
                impl=lambda x, *, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
                vjp=_PROD_VJP, jvp=_PROD_JVP,
                symbol="Π", scalar_adjoint=True, names=("prod",), keywords=REDUCTION,
                doc="prod(x, axis=None, keepdims=False): product; its gradient exact with zeros",
                formula=function("prod", r"\prod"), domain=(ANY,), defined_everywhere=True))


# NOTE: the derivative of the product of the others (prod's second) divides by x: nan at an element exactly 0,
# where prod's gradient itself is exact. The rules: d/dx_j of prod_{k != i} x_k is prod_{k != i, j} x_k.
PROD_OTHERS = defop(Op(name="prod_others", arity=1, shape=lambda x, *, axis: along(x, axis, "prod"),
                       impl=_prod_others,
                       vjp=lambda g, out, x, *, axis: (
                           (call("sum", g * out, axis=axis, keepdims=True) - g * out) / x,),
                       jvp=lambda t, out, x, *, axis: out * (
                           call("sum", t[0] / x, axis=axis, keepdims=True) - t[0] / x),
                       symbol="Π≠", doc="the product of the other elements of each one's slice along axis",
                       formula=function("prod_others"), defined_everywhere=True,
                       domain=(Domain(0.5, 2.0, signed=True,
                                      need="{} != 0 (prod's second derivative divides by it)"),)))


def _count_precedence(dims):
    if len(dims) == 1 and dimensions.is_composite(dims[0]):
        return PRECEDENCE["sum"]  # n - 1, d*n: parenthesized under a product or a division
    return ATOM if len(dims) < 2 else PRODUCT


# The element count of a shape with named dimensions: the divisor of a mean's gradient.
# NOTE: written in place, so a product `n * d` needs parentheses (`1.0 / (n * d)`, not `1.0 / n * d`).
SIZE = defop(Op(name="size", arity=0, shape=lambda *, dims: (), impl=lambda *, dims: float(math.prod(dims)),
                symbol="size", inline=True, doc="number of elements", defined_everywhere=True,
                formula=printed(lambda p, node, *, dims: Piece(p.dims(dims), _count_precedence(dims)))))


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


def _sum_to_formula(p, node, x, *, shape):
    """A sum over the axes it sums, read as sum's formula would."""
    lead, kept = sum_to_axes(p.graph.shape(p.graph.args(node)[0]), shape)
    axes = lead + kept
    return p.form(SUM.formula, node, x, axis=axes[0] if len(axes) == 1 else axes, keepdims=bool(kept))


SUM_TO = defop(Op(name="sum_to", arity=1, shape=_sum_to_shape, impl=_sum_to_impl,
                  vjp=lambda g, out, x, *, shape: (g,), jvp=linear("sum_to"), symbol="Σ",
                  formula=printed(_sum_to_formula), doc="sum a broadcast gradient back to an operand's shape",
                  domain=(ANY,), defined_everywhere=True))
# NOTE: a broadcast is implicit under an elementwise op, but changes what a matrix product means: shown there.
BROADCAST_TO = defop(Op(name="broadcast_to", arity=1,
                        shape=lambda x, *, shape: shapes.broadcast(x, shape, op="broadcast_to"),
                        impl=lambda x, *, shape: np.broadcast_to(x, shape),
                        vjp=lambda g, out, x, *, shape: (g,), jvp=linear("broadcast_to"), view=True,
                        formula=function("broadcast_to", transparent=UNDER_ELEMENTWISE), symbol="broadcast_to",
                        doc="view x with a larger shape", domain=(ANY,), defined_everywhere=True))


def _expand_dims_shape(x, *, axis):
    result = list(x)
    for a in shapes.inserted_axes(len(x), axis):
        result.insert(a, 1)
    return tuple(result)


def _expand_dims_vjp(g, out, x, *, axis):
    return (call("sum", g, axis=shapes.inserted_axes(x.ndim, axis), keepdims=False),)


# Public (np.expand_dims), and what differentiation inserts to give a reduction's adjoint its axes back.
EXPAND_DIMS = defop(Op(name="expand_dims", arity=1, shape=_expand_dims_shape,
                       impl=lambda x, *, axis: np.expand_dims(x, axis),
                       vjp=_expand_dims_vjp, jvp=linear("expand_dims"), view=True, inline=True, symbol="expand_dims",
                       names=("expand_dims",), keywords=(("axis", None),),
                       formula=function("expand_dims", transparent=ALWAYS),
                       doc="expand_dims(x, axis): insert axes of length 1 at the positions axis (an int or a tuple)",
                       domain=(ANY,), defined_everywhere=True))

def squeezed_axes(shape, axis, op="squeeze"):
    """The axes squeeze drops: those given (each must be declared 1), or with axis None every axis declared 1.

    NOTE: a named dimension is never dropped by axis=None, even where its size is 1 at run time: the
    result's shape is fixed at compile time (declare the dimension 1 to drop it).
    """
    if axis is None:
        return tuple(i for i, d in enumerate(shape) if d == 1)
    axes = shapes.normalize_axes(shape, axis, op)
    for a in axes:
        if shape[a] != 1:
            raise ShapeError(f"{op}: axis {a} of shape {shapes.show(shape)} has size {shape[a]}, not 1 "
                             "(only an axis declared 1 can be squeezed; index it, as in x[0], to pick one row)")
    return axes


def _squeeze_vjp(g, out, x, *, axis):
    return (g if g.shape == () else call("expand_dims", g, axis=squeezed_axes(x.shape, axis)),)


SQUEEZE = defop(Op(name="squeeze", arity=1,
                   shape=lambda x, *, axis: tuple(d for i, d in enumerate(x) if i not in squeezed_axes(x, axis)),
                   impl=lambda x, *, axis: np.squeeze(x, axis=axis),
                   vjp=_squeeze_vjp, jvp=linear("squeeze"), view=True, scalar_adjoint=True, symbol="squeeze",
                   names=("squeeze",), keywords=(("axis", None),),
                   formula=function("squeeze", transparent=ALWAYS),
                   doc="squeeze(x, axis=None): drop axes of length 1 (None: every axis declared 1)",
                   domain=(ANY,), defined_everywhere=True))
