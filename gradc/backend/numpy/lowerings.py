"""How the NumPy backend writes each op: one lowering per op name, registered the way JAX's `register_lowering` is.

A lowering is a format string over the operands' names (`"{0} + {1}"`) and the op's attributes, or a function
`lower(ctx, *operands, **attrs)` returning one expression or a list of statements (`{target}` is the line's
name). A lowering that calls a module-level helper (templates/helpers.py.j2) names it: a format string in
`helpers=`, a function by writing its name as `ctx.helper("_row_max")`; a module carries the helpers its
lines call, and no others. Where `ctx.readable`, a lowering writes what a textbook would (`X.T @ g`,
`g.sum(axis=0)`) instead of a helper or form measured faster.

An elementwise op whose meaning is a NumPy ufunc needs none: it is written as that ufunc's call, and its
line may write into a dying operand's buffer with `out=` (see reuse.py). The ops' entries hold only the math.
"""
import math
from dataclasses import dataclass, replace

import numpy as np

from gradc import shapes
from gradc.errors import GradcError
from gradc.ops.construction import literal_text
from gradc.ops.activations import GELU_C, GELU_K, SELU_ALPHA, SELU_SCALE, SQRT_HALF
from gradc.ops.contractions import merged_shape, rearranges, tensordot_axes
from gradc.ops.elementwise import SIGMOID_TAIL
from gradc.ops.indexing import index_text
from gradc.ops.reduce import squeezed_axes, sum_to_axes
from gradc.ops.shaping import tile_split


@dataclass(frozen=True)
class Lowering:
    text: object  # a format string, or lower(ctx, *operands, **attrs) -> str | [statements]
    ufunc: str = ""  # the ufunc that can write the result into an operand's buffer
    helpers: tuple = ()  # the module-level helpers a format string calls


LOWERINGS = {}  # op name -> Lowering, filled below, once, at import


def register_lowering(name, text, ufunc="", helpers=()):
    assert name not in LOWERINGS, name
    LOWERINGS[name] = Lowering(text, ufunc, tuple(helpers))


def lowering_of(op):
    """The op's registered Lowering, or the call of the ufunc that is its meaning."""
    found = LOWERINGS.get(op.name)
    ufunc = op.impl.__name__ if op.elementwise and isinstance(op.impl, np.ufunc) else ""
    if found is not None:
        return found if found.ufunc or not ufunc else replace(found, ufunc=ufunc)
    if ufunc:
        return Lowering(f"np.{ufunc}(" + ", ".join(f"{{{i}}}" for i in range(op.arity)) + ")", ufunc)
    raise GradcError(f"operation '{op.name}' has no lowering for the NumPy backend")


# leaves
register_lowering("input", lambda ctx, *, var, dims, integer=False: var)
register_lowering("const", lambda ctx, *, value: ctx.literal(value))
register_lowering("size", lambda ctx, *, dims: f"({ctx.size(dims)})" if len(dims) > 1 else ctx.size(dims))
register_lowering("zeros", lambda ctx, *, shape: f"np.zeros({ctx.shape(shape)})" if shape else "0.0")

# arithmetic
register_lowering("add", "{0} + {1}")
register_lowering("sub", "{0} - {1}")
register_lowering("mul", "{0} * {1}")
register_lowering("div", "{0} / {1}")
# NOTE: ** binds tighter than unary minus, so a negated base needs parentheses: (-x) ** 2, not -x ** 2
register_lowering("pow", lambda ctx, x, y: f"({x}) ** {y}" if x.startswith("-") else f"{x} ** {y}")
register_lowering("neg", "-{0}")
register_lowering("abs", "np.abs({0})")
register_lowering("relu", "np.maximum({0}, 0.0)")


def _mul_no_nan(ctx, x, y):
    if not ctx.arg_shapes[0] and not ctx.arg_shapes[1]:
        return f"0.0 if {y} == 0.0 else {x} * {y}"
    return f"np.where({y} == 0.0, 0.0, {x} * {y})"


register_lowering("mul_no_nan", _mul_no_nan)

_TERMS_PER_LINE = 64


def _accumulate(ctx, *partials):
    """`g_x_1 + g_x_2 + ...`, continued on further lines every 64 terms (Python parses a longer sum recursively)."""
    if len(partials) <= _TERMS_PER_LINE:
        return " + ".join(partials)
    chunks = [partials[i:i + _TERMS_PER_LINE] for i in range(0, len(partials), _TERMS_PER_LINE)]
    return ["{target} = " + " + ".join(chunks[0])] + ["{target} = {target} + " + " + ".join(chunk)
                                                      for chunk in chunks[1:]]


register_lowering("accumulate", _accumulate, ufunc="add")  # in place for two partials


def _sigmoid(ctx, x):
    """1 / (1 + exp(-x)) from -709 up, exp(x) below: relatively accurate everywhere, with no overflow warning.

    Nothing is clamped in the result: from -709 down, where exp(-x) would overflow, sigmoid(x) is exp(x) to
    the last bit (down to the smallest subnormal: sigmoid(-720) is 2.03e-313, which clamping x at -700 gave
    as 9.86e-305). An array is the call `_sigmoid(x)`, a helper in the module (templates/helpers.py.j2): the
    five in-place statements of 1 / (1 + exp(-x)) on x held above -709, then one masked exp writing the tail
    over them. A scalar is one conditional expression: 0.8 us, where `max(x, -700.0)` took 1.5 us.
    """
    if not ctx.arg_shapes[0]:
        return f"1.0 / (1.0 + np.exp(-{x})) if {x} >= {SIGMOID_TAIL!r} else np.exp({x})"
    return f"{ctx.helper('_sigmoid')}({x})"


def _softplus(ctx, x):
    """max(x, 0) + log1p(exp(-|x|)): stable, and ~7x faster than np.logaddexp(0, x); an array is the call
    `_softplus(x)`, a helper in the module that computes it in one fresh buffer."""
    if not ctx.arg_shapes[0]:
        return f"np.maximum({x}, 0.0) + np.log1p(np.exp(-np.abs({x})))"
    return f"{ctx.helper('_softplus')}({x})"


def _finite_or_zero(ctx, x):
    return f"{x} if np.isfinite({x}) else 0.0" if not ctx.arg_shapes[0] else f"np.where(np.isfinite({x}), {x}, 0.0)"


register_lowering("sigmoid", _sigmoid)
register_lowering("softplus", _softplus)
register_lowering("finite_or_zero", _finite_or_zero)

# comparisons: 0/1 float masks, and the bool ones written inside the product that applies them
def _mask(truth):
    """`np.where(truth, 1.0, 0.0)`; of scalars the conditional expression, which stays a Python float."""
    def lower(ctx, *operands):
        text = truth.format(*operands)
        return f"1.0 if {text} else 0.0" if not any(ctx.arg_shapes) else f"np.where({text}, 1.0, 0.0)"
    return lower


for _name, _symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
    register_lowering(_name, _mask(f"{{0}} {_symbol} {{1}}"))
    register_lowering("is_" + _name, f"({{0}} {_symbol} {{1}})")


# reductions
def _axes_text(axis):
    return str(axis) if isinstance(axis, int) or len(axis) != 1 else str(axis[0])


def _reduction(method, x, shape, axis, keepdims):
    """`x.sum()`, `x.max(axis=1)`: the method skips `np.sum`'s Python-level dispatch (~1 us a call)."""
    if not shape:
        return f"np.{method}({x})"
    arguments = ([] if axis is None else [f"axis={_axes_text(axis)}"]) + (["keepdims=True"] if keepdims else [])
    return f"{x}.{method}({', '.join(arguments)})"


def _sum_text(x, shape, axis, keepdims, readable=False):
    """A sum over some axes of an array as `np.einsum("ij->j", x)`, over all of them as `x.sum()`.

    NumPy's `sum` along an axis iterates the other axes one short inner loop at a time: on a (4096, 32)
    array einsum takes 36 us where `x.sum(axis=0)` takes 76 us, and on (10^5, 10) along axis 1, 0.4 ms
    against 2 ms (numpy 2.4 on a 2-core AMD EPYC; benchmarks/emission_choices.py --only sums, RESULTS.md).
    """
    ndim = len(shape)
    axes = () if axis is None else shapes.normalize_axes(shape, axis)
    if not axes or len(axes) == ndim or readable:  # readable: x.sum(axis=0), as a textbook writes it
        return _reduction("sum", x, shape, axis if keepdims or axes and len(axes) < ndim else None, keepdims)
    letters = "ijklmnopqrstuvwxyz"[:ndim]
    kept = "".join(letter for i, letter in enumerate(letters) if i not in axes)
    text = f'np.einsum("{letters}->{kept}", {x})'
    if keepdims:
        index = ["None" if i in axes else ":" for i in range(ndim)]
        while index[-1] == ":":
            index.pop()
        text += f"[{', '.join(index)}]"
    return text


def _amax(ctx, x, *, axis, keepdims):
    """`_row_max(x)` (a helper in the module) for the largest element of each row of a matrix."""
    shape = ctx.arg_shapes[0]
    if len(shape) == 2 and axis is not None and shapes.normalize_axes(shape, axis) == (1,) and not ctx.readable:
        row_max = ctx.helper("_row_max")
        return f"{row_max}({x})" if keepdims else f"{row_max}({x})[:, 0]"
    return _reduction("max", x, shape, axis, keepdims)


def _sum_to(ctx, x, *, shape):
    x_shape = ctx.arg_shapes[0]
    lead, kept = sum_to_axes(x_shape, shape)
    if kept and lead:
        kept_shape = tuple(1 if i in kept else d for i, d in enumerate(x_shape))
        return _sum_text(_sum_text(x, x_shape, kept, True, ctx.readable), kept_shape, lead, False, ctx.readable)
    return _sum_text(x, x_shape, kept or lead, bool(kept), ctx.readable)


register_lowering("sum", lambda ctx, x, *, axis, keepdims: _sum_text(x, ctx.arg_shapes[0], axis, keepdims,
                                                                     ctx.readable))
register_lowering("mean", lambda ctx, x, *, axis, keepdims: _reduction("mean", x, ctx.arg_shapes[0], axis, keepdims))
register_lowering("amax", _amax)
register_lowering("amin", lambda ctx, x, *, axis, keepdims: _reduction("min", x, ctx.arg_shapes[0], axis, keepdims))
register_lowering("sum_to", _sum_to)
register_lowering("prod", lambda ctx, x, *, axis, keepdims: _reduction("prod", x, ctx.arg_shapes[0], axis, keepdims))
register_lowering("prod_others", lambda ctx, x, *, axis: "1.0" if not ctx.arg_shapes[0] else
                  f"{ctx.helper('_prod_others')}({x}, {shapes.normalize_axes(ctx.arg_shapes[0], axis)!r})")


def _spread(method):
    """`x.var(axis=0, ddof=1)`; a scalar's `np.var(x)` (0.0, or nan where ddof >= 1, as NumPy gives)."""
    def lower(ctx, x, *, axis, ddof, keepdims):
        arguments = ([] if axis is None else [f"axis={_axes_text(axis)}"]) + ([f"ddof={ddof!r}"] if ddof else [])
        arguments += ["keepdims=True"] if keepdims else []
        if not ctx.arg_shapes[0]:
            return f"np.{method}({', '.join([x] + arguments)})"
        return f"{x}.{method}({', '.join(arguments)})"
    return lower


register_lowering("var", _spread("var"))
register_lowering("std", _spread("std"))


def _norm(ctx, x, *, ord, axis, keepdims):
    """`np.linalg.norm(x, ord=np.inf, axis=1)`, naming only what is not NumPy's default."""
    arguments = [x]
    if ord is not None:
        infinite = not isinstance(ord, str) and abs(ord) == float("inf")
        arguments.append(f"ord={ctx.literal(ord)}" if infinite else f"ord={ord!r}")
    arguments += ([] if axis is None else [f"axis={axis!r}"]) + (["keepdims=True"] if keepdims else [])
    return f"np.linalg.norm({', '.join(arguments)})"


register_lowering("norm", _norm)
register_lowering("singular_direction", lambda ctx, x, *, ord: f"{ctx.helper('_singular_direction')}({x}, {ord!r})")


def _running(function):
    """`np.cumsum(x)` (flattened) or `np.cumsum(x, axis=1)`."""
    return lambda ctx, x, *, axis: f"np.{function}({x})" if axis is None else f"np.{function}({x}, axis={axis})"


def _rcumsum(ctx, g, *, axis, shape):
    """The running sum from the end: `np.flip(np.cumsum(np.flip(g, 1), axis=1), 1)`; `g[::-1]` for a vector."""
    if axis is None or len(shape) == 1:
        text = f"np.cumsum({g}[::-1])[::-1]"
        return text if len(shape) == 1 else f"{text}.reshape({ctx.shape(shape)})"
    return f"np.flip(np.cumsum(np.flip({g}, {axis}), axis={axis}), {axis})"


register_lowering("cumsum", _running("cumsum"))
register_lowering("cumprod", _running("cumprod"))
register_lowering("rcumsum", _rcumsum)


# shape plumbing
def _expand_dims(ctx, x, *, axis):
    axis = shapes.inserted_axes(len(ctx.arg_shapes[0]), axis)
    if not ctx.arg_shapes[0]:  # a scalar may be a Python float, which takes no index
        return f"np.reshape({x}, {ctx.shape((1,) * len(axis))})"
    index = ["None" if i in axis else ":" for i in range(len(ctx.arg_shapes[0]) + len(axis))]
    while index and index[-1] == ":":
        index.pop()
    return f"{x}[{', '.join(index)}]"


register_lowering("broadcast_to", lambda ctx, x, *, shape: f"np.broadcast_to({x}, {ctx.shape(shape)})")
register_lowering("expand_dims", _expand_dims)
register_lowering("squeeze", lambda ctx, x, *, axis:
                  f"np.squeeze({x}, axis={ctx.axes(squeezed_axes(ctx.arg_shapes[0], axis))})")
register_lowering("transpose", lambda ctx, x, *, axes=None: f"{x}.T" if axes is None else
                  f"np.transpose({x}, {ctx.axes(tuple(axes) if isinstance(axes, tuple) else (axes,))})")


# linear algebra and indexing
register_lowering("matmul", "{0} @ {1}")
# helpers measured faster (templates/helpers.py.j2) in the fast module; readable, what a textbook writes
register_lowering("t_matmul", "{0}.T @ {1}")
register_lowering("outer", lambda ctx, a, b: f"np.outer({a}, {b})" if ctx.readable else
                  f"{ctx.helper('_outer')}({a}, {b})")
register_lowering("trace", "np.trace({0})")
register_lowering("dot", "np.dot({0}, {1})")
register_lowering("inner", "np.inner({0}, {1})")


def _einsum(ctx, *operands, spec):
    """np.einsum; copied where it would be a view of its operand ('ii->i'), which an in-place line could write."""
    text = f"np.einsum({spec!r}, {', '.join(operands)})"
    return text + ".copy()" if rearranges(spec) else text


register_lowering("einsum", _einsum)
register_lowering("kron", "np.kron({0}, {1})")
# kron's adjoint's reshapes: each axis split in two, and back
register_lowering("split_axes", lambda ctx, x, *, parts: f"{x}.reshape({ctx.shape(sum(parts, ()))})")
register_lowering("merge_axes", lambda ctx, x: f"{x}.reshape({ctx.shape(merged_shape(ctx.arg_shapes[0]))})")
register_lowering("tensordot", lambda ctx, a, b, *, axes: f"np.tensordot({a}, {b}, axes="
                  f"{tensordot_axes(ctx.arg_shapes[0], ctx.arg_shapes[1], axes)})")
register_lowering("inv", "np.linalg.inv({0})")
register_lowering("solve", "np.linalg.solve({0}, {1})")
register_lowering("det", "np.linalg.det({0})")
register_lowering("logabsdet", "np.linalg.slogdet({0}).logabsdet")
register_lowering("slogdet_sign", "np.linalg.slogdet({0}).sign")
register_lowering("logdet", "_logdet({0})", helpers=("_logdet",))
register_lowering("cholesky", "np.linalg.cholesky({0})")
register_lowering("lower_half", "np.tril({0}, -1) + 0.5 * np.diag(np.diag({0}))")
register_lowering("vdot", "np.vdot({0}, {1})")
register_lowering("index", lambda ctx, x, *, index: f"{x}[{index_text(index)}]")
# the adjoint of indexing: two statements, one fresh array
register_lowering("scatter", lambda ctx, g, *, index, shape: [f"{{target}} = np.zeros({ctx.shape(shape)})",
                                                              f"{{target}}[{index_text(index)}] = {g}"])


# arrays made from a shape alone
register_lowering("ones", lambda ctx, *, shape: f"np.ones({ctx.shape(shape)})" if shape else "1.0")
register_lowering("full", lambda ctx, *, shape, fill_value: f"np.full({ctx.shape(shape)}, {ctx.literal(fill_value)})"
                  if shape else ctx.literal(fill_value))


def _eye(ctx, *, shape, k=0):
    """`np.eye(n)`, `np.eye(n, m)`, `np.eye(3, k=1)`: the columns and k only where NumPy's default is not them."""
    sizes = [ctx.dim(shape[0])] + ([ctx.dim(shape[1])] if shape[1] != shape[0] else [])
    return f"np.eye({', '.join(sizes + ([f'k={k}'] if k else []))})"


register_lowering("eye", _eye)
register_lowering("identity", lambda ctx, *, shape: f"np.identity({ctx.dim(shape[0])})")
register_lowering("literal", lambda ctx, *, values: f"np.array({literal_text(values)})")


# issue 12's elementwise functions, masks and activations (gradc/ops/functions.py, masks.py, activations.py)
def _select(ctx, cond, a, b):
    """`np.where(c, a, b)`; of scalars the conditional expression, which stays a Python float."""
    if not any(ctx.arg_shapes):
        return f"{a} if {cond} else {b}"
    return f"np.where({cond}, {a}, {b})"


def _log_sigmoid(ctx, x):
    return f"np.minimum({x}, 0.0) - np.log1p(np.exp(-np.abs({x})))"


register_lowering("where", _select)
register_lowering("clip", "np.clip({0}, {1}, {2})")
register_lowering("log_sigmoid", _log_sigmoid)
register_lowering("logit", "np.log({0}) - np.log1p(-{0})")  # NumPy's, so a float 1.0 gives inf and no raise
for _name, _truth in (("eq", "{0} == {1}"), ("ne", "{0} != {1}"), ("logical_and", "np.logical_and({0}, {1})"),
                      ("logical_or", "np.logical_or({0}, {1})"), ("logical_not", "np.logical_not({0})")):
    register_lowering(_name, _mask(_truth))
register_lowering("silu", lambda ctx, x: f"{x} * ({_sigmoid(ctx, x)})")
register_lowering("erf", lambda ctx, x: f"{ctx.helper('_erf')}({x})")
register_lowering("gelu", lambda ctx, x, *, approximate: (
    f"0.5 * {x} * (1.0 + np.tanh({GELU_C!r} * ({x} + {GELU_K!r} * {x} * {x} * {x})))" if approximate else  # no ** 3
    f"0.5 * {x} * (1.0 + {ctx.helper('_erf')}({x} * {SQRT_HALF!r}))"))
register_lowering("elu", lambda ctx, x, *, alpha: _select(
    ctx, f"{x} > 0.0", x, f"{ctx.literal(alpha)} * np.expm1(np.minimum({x}, 0.0))"))
register_lowering("selu", lambda ctx, x: _select(
    ctx, f"{x} > 0.0", f"{SELU_SCALE!r} * {x}", f"{SELU_SCALE * SELU_ALPHA!r} * np.expm1(np.minimum({x}, 0.0))"))
register_lowering("leaky_relu", lambda ctx, x, *, negative_slope: _select(
    ctx, f"{x} >= 0.0", x, f"{ctx.literal(negative_slope)} * {x}"))
register_lowering("relu6", "np.minimum(np.maximum({0}, 0.0), 6.0)")
register_lowering("hard_tanh", "np.clip({0}, -1.0, 1.0)")
register_lowering("softsign", "{0} / (1.0 + np.abs({0}))")
register_lowering("mish", lambda ctx, x: f"{x} * np.tanh({_softplus(ctx, x)})")


# gathers by integer indices (gradc/ops/gathers.py); the adjoint adds with np.add.at, so repeats add up
def _take(ctx, x, indices, *, axis):
    """`x[labels]` for rows, else `np.take(x, labels, axis=1)`."""
    if axis in (0, None):
        return f"{x}[{indices}]"
    return f"np.take({x}, {indices}, axis={axis})"


def _arange(ctx, shape, axis):
    """`np.arange(n)`, shaped to broadcast along `axis` of an array of `shape`: `np.arange(n)[:, None]`."""
    rank = len(shape)
    tail = (", ".join([":"] + ["None"] * (rank - 1 - axis))) if axis < rank - 1 else ""
    return f"np.arange({ctx.dim(shape[axis])})" + (f"[{tail}]" if tail else "")


def _along_index(ctx, indices, axis, shape):
    return ", ".join(indices if i == axis else _arange(ctx, shape, i) for i in range(len(shape)))


register_lowering("take", _take)
# np.add.at, not np.bincount(labels % d, g): NumPy 2's add.at is the faster, 142 us against 599 us for d = 1000 and
# 10^5 labels (benchmarks/emission_choices.py --only scatters)
register_lowering("take_add", lambda ctx, g, indices, *, axis, shape: [
    f"{{target}} = np.zeros({ctx.shape(shape)})",
    f"np.add.at({{target}}, {indices if axis == 0 else '(' + 'slice(None), ' * axis + indices + ')'}, {g})"])
register_lowering("pick", lambda ctx, x, indices: f"{x}[np.arange({ctx.dim(ctx.arg_shapes[0][0])}), {indices}]")
# distinct rows: (i, labels[i]) never repeat, so an assignment adds what np.add.at would, 3x faster: 590 us against
# 1921 us on (10^5, 10) (benchmarks/emission_choices.py --only scatters)
register_lowering("pick_put", lambda ctx, g, indices, *, shape: [
    f"{{target}} = np.zeros({ctx.shape(shape)})",
    f"{{target}}[np.arange({ctx.dim(shape[0])}), {indices}] = {g}"])
register_lowering("take_along_axis", lambda ctx, x, indices, *, axis:
                  f"np.take_along_axis({x}, {indices}, axis={axis})")
register_lowering("take_along_axis_add", lambda ctx, g, indices, *, axis, shape: [
    f"{{target}} = np.zeros({ctx.shape(shape)})",
    f"np.add.at({{target}}, ({_along_index(ctx, indices, axis, shape)}), {g})"])


def _flip(ctx, x, *, axis):
    """`x[::-1]` for a vector, else `np.flip(x)` or `np.flip(x, axis=1)`."""
    if len(ctx.arg_shapes[0]) == 1:
        return f"{x}[::-1]"
    return f"np.flip({x})" if axis is None else f"np.flip({x}, axis={axis!r})"


register_lowering("flip", _flip)
register_lowering("swapaxes", "np.swapaxes({0}, {axis1}, {axis2})")
register_lowering("moveaxis", "np.moveaxis({0}, {source!r}, {destination!r})")
register_lowering("roll", lambda ctx, x, *, shift, axis: f"np.roll({x}, {shift!r})" if axis is None else
                  f"np.roll({x}, {shift!r}, axis={axis!r})")
register_lowering("repeat", lambda ctx, x, *, repeats, axis: f"np.repeat({x}, {repeats})" if axis is None else
                  f"np.repeat({x}, {repeats}, axis={axis})")
register_lowering("tile", "np.tile({0}, {reps!r})")


def _repeat_sum(ctx, g, *, repeats, axis, shape):
    """`g.reshape(n, 3, d).sum(axis=1)`: each run of copies on an axis of its own, summed."""
    if axis is None:
        size = math.prod(shape) if all(isinstance(d, int) for d in shape) else ctx.size(shape)
        flat = f"{g}.reshape({size}, {repeats}).sum(axis=1)"
        return flat if len(shape) == 1 else f"{flat}.reshape({ctx.shape(shape)})"
    split = [ctx.dim(d) for d in shape[:axis + 1]] + [str(repeats)] + [ctx.dim(d) for d in shape[axis + 1:]]
    return f"{g}.reshape({', '.join(split)}).sum(axis={axis + 1})"


def _tile_sum(ctx, g, *, reps, shape):
    """`g.reshape(2, n, 3, d).sum(axis=(0, 2))`: each tiled axis split into (copies, length), the copies summed."""
    split, copies = tile_split(shape, reps)
    if not copies:  # every reps 1: only new leading axes of length 1 to drop
        return f"{g}.reshape({ctx.shape(shape)})"
    return f"{g}.reshape({', '.join(ctx.dim(d) for d in split)}).sum(axis={ctx.axes(copies)})"


register_lowering("repeat_sum", _repeat_sum)
register_lowering("tile_sum", _tile_sum)


# joins (gradc/ops/joins.py): the sequence as a tuple, the axis only where it is not NumPy's default
def _join(function):
    def lower(ctx, *arrays, axis=0):  # axis=None: a concatenate of vectors, written as the source gave it
        sequence = "(" + ", ".join(arrays) + ("," if len(arrays) == 1 else "") + ")"
        return f"np.{function}({sequence})" if axis == 0 else f"np.{function}({sequence}, axis={axis})"
    return lower


for _name in ("concatenate", "stack", "hstack", "vstack", "column_stack"):
    register_lowering(_name, _join(_name))


# arrays shaped like another, triangles and diagonals (gradc/ops/construction.py)
def _like(function, fill):
    """`np.zeros_like(x)`; of a scalar, the number itself."""
    def lower(ctx, a, **attrs):
        value = fill if fill is not None else attrs["fill_value"]
        if not ctx.arg_shapes[0]:
            return ctx.literal(value)
        return f"np.{function}({a}" + (f", {ctx.literal(value)})" if fill is None else ")")
    return lower


register_lowering("zeros_like", _like("zeros_like", 0.0))
register_lowering("ones_like", _like("ones_like", 1.0))
register_lowering("full_like", _like("full_like", None))
register_lowering("tril", lambda ctx, x, *, k: f"np.tril({x}, {k})" if k else f"np.tril({x})")
register_lowering("triu", lambda ctx, x, *, k: f"np.triu({x}, {k})" if k else f"np.triu({x})")
register_lowering("diag", lambda ctx, x, *, k: f"np.diag({x}, {k})" if k else f"np.diag({x})")
register_lowering("diagonal", lambda ctx, x, *, offset: f"np.diagonal({x}, {offset})" if offset else f"{x}.diagonal()")


def _undiagonal(ctx, g, *, offset, shape):
    """The adjoint of a diagonal: zeros, then g written on the diagonal (of the columns from offset on, or of
    the rows from -offset on)."""
    view = "{target}" + ("" if offset == 0 else f"[:, {offset}:]" if offset > 0 else f"[{-offset}:]")
    return [f"{{target}} = np.zeros({ctx.shape(shape)})", f"np.fill_diagonal({view}, {g})"]


register_lowering("undiagonal", _undiagonal)


register_lowering("reshape", lambda ctx, x, *, shape: f"{x}.reshape({ctx.shape(shape)})" if ctx.arg_shapes[0] else
                  f"np.reshape({x}, {ctx.shape(shape)})")  # a scalar may be a Python float, with no methods
register_lowering("ravel", lambda ctx, x: f"{x}.ravel()" if ctx.arg_shapes[0] else f"np.ravel({x})")
