"""How the Array API backend writes each op: one lowering per op name, against the namespace `xp` that each
generated function takes from its inputs.

A lowering is a format string over the operands' names and the op's attributes, where `{xp}`, `{dtype}` and
`{device}` are the function's namespace, float dtype and device, or a function `lower(ctx, *operands, **attrs)`
(ctx: an `ArrayContext`) returning one expression. Only the standard's functions appear: array-api-strict in
the tests refuses anything else. Nothing is written in place (JAX forbids it), except a scatter into an
array the namespace says is writeable (the module's `_scatter`).

An elementwise op whose meaning is a NumPy ufunc that the standard has (by its name there: np.arcsin is
xp.asin) needs none; any other op without a lowering here is a GradcError at compile time naming it.
"""
from dataclasses import dataclass

import numpy as np

from gradc import dimensions
from gradc.errors import GradcError
from gradc.ops.activations import GELU_C, GELU_K, SELU_ALPHA, SELU_SCALE, SQRT_HALF
from gradc.ops.construction import literal_text
from gradc.ops.contractions import merged_shape, padded_shapes, split_spec, tensordot_axes
from gradc.ops.indexing import Slice, consumed, index_shape
from gradc.ops.joins import LAYOUTS
from gradc.ops.norms import classify
from gradc.ops.reduce import squeezed_axes, sum_to_axes
from gradc.ops.shaping import moved, swapped, tile_split
from gradc.shapes import inserted_axes, normalize_axes, permutation

BACKEND = "array-api"


@dataclass(frozen=True)
class Lowering:
    text: object  # a format string, or lower(ctx, *operands, **attrs) -> str
    helpers: tuple = ()  # the module-level helpers a format string calls
    ufunc: str = ""  # never set: this backend writes no line into an operand's buffer


LOWERINGS = {}  # op name -> Lowering, filled below, once, at import

# The standard's elementwise functions, under NumPy's ufunc names where these differ.
STANDARD = {"absolute": "abs", "arccos": "acos", "arccosh": "acosh", "arcsin": "asin", "arcsinh": "asinh",
            "arctan": "atan", "arctan2": "atan2", "arctanh": "atanh", "power": "pow", "true_divide": "divide"}
STANDARD.update({name: name for name in (
    "add", "subtract", "multiply", "divide", "negative", "positive", "exp", "expm1", "log", "log1p", "log2",
    "log10", "logaddexp", "sqrt", "square", "sin", "cos", "tan", "sinh", "cosh", "tanh", "sign", "maximum",
    "minimum", "hypot", "floor", "ceil", "trunc", "copysign", "reciprocal")})
STANDARD["rint"] = "round"  # np.round without decimals; both send halves to the even neighbour


def register_lowering(name, text, helpers=()):
    assert name not in LOWERINGS, name
    LOWERINGS[name] = Lowering(text, tuple(helpers))


def lowering_of(op):
    """The op's Lowering for this backend, or the standard's function that is its ufunc; else a GradcError."""
    found = LOWERINGS.get(op.name)
    if found is not None:
        return found
    if op.elementwise and isinstance(op.impl, np.ufunc) and op.impl.__name__ in STANDARD:
        operands = ", ".join(f"{{{i}}}" for i in range(op.arity))
        return Lowering(f"{{xp}}.{STANDARD[op.impl.__name__]}({operands})")
    raise GradcError(f"operation '{op.name}' has no lowering for the {BACKEND} backend: compile with "
                     f"backend='numpy' (--backend numpy), or write it with the ops that have one")


# leaves
register_lowering("input", lambda ctx, *, var, dims, integer=False: var)
register_lowering("const", lambda ctx, *, value: ctx.literal(value))
register_lowering("size", lambda ctx, *, dims: f"({ctx.size(dims)})" if len(dims) > 1 else ctx.size(dims))
register_lowering("zeros", lambda ctx, *, shape: ctx.filled("zeros", shape) if shape else "0.0")
register_lowering("ones", lambda ctx, *, shape: ctx.filled("ones", shape) if shape else "1.0")
register_lowering("eye", lambda ctx, *, shape: f"{ctx.xp}.eye({', '.join(ctx.dim(d) for d in shape)}, "
                                               f"dtype={ctx.dtype}, device={ctx.device})")

# arithmetic
register_lowering("add", "{0} + {1}")
register_lowering("sub", "{0} - {1}")
register_lowering("mul", "{0} * {1}")
register_lowering("div", "{0} / {1}")
# NOTE: ** binds tighter than unary minus, so a negated base needs parentheses: (-x) ** 2, not -x ** 2
register_lowering("pow", lambda ctx, x, y: f"({x}) ** {y}" if x.startswith("-") else f"{x} ** {y}")
register_lowering("neg", "-{0}")
register_lowering("abs", "{xp}.abs({0})")
register_lowering("relu", "{xp}.maximum({0}, 0.0)")
register_lowering("mul_no_nan", "{xp}.where({1} == 0.0, 0.0, {0} * {1})")
register_lowering("finite_or_zero", "{xp}.where({xp}.isfinite({0}), {0}, 0.0)")
# exp(-|x|) never overflows: the helper picks 1 / (1 + e) or e / (1 + e) by the sign of x
register_lowering("sigmoid", "_sigmoid({xp}, {0})", helpers=("_sigmoid",))
register_lowering("softplus", "{xp}.maximum({0}, 0.0) + {xp}.log1p({xp}.exp(-{xp}.abs({0})))")

_TERMS_PER_LINE = 64


def _accumulate(ctx, *partials):
    """`g_x_1 + g_x_2 + ...`, continued on further lines every 64 terms (Python parses a longer sum recursively)."""
    if len(partials) <= _TERMS_PER_LINE:
        return " + ".join(partials)
    chunks = [partials[i:i + _TERMS_PER_LINE] for i in range(0, len(partials), _TERMS_PER_LINE)]
    return ["{target} = " + " + ".join(chunks[0])] + ["{target} = {target} + " + " + ".join(chunk)
                                                      for chunk in chunks[1:]]


register_lowering("accumulate", _accumulate)

# comparisons: 0/1 masks in the function's float dtype (the standard multiplies no float by a bool)
for _name, _symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
    register_lowering(_name, f"{{xp}}.astype({{0}} {_symbol} {{1}}, {{dtype}})")
    register_lowering("is_" + _name, f"{{xp}}.astype({{0}} {_symbol} {{1}}, {{dtype}})")


# reductions
def _axes_text(axis):
    return str(axis) if isinstance(axis, int) or len(axis) != 1 else str(axis[0])


def _reduction(ctx, function, x, axis, keepdims):
    """`xp.sum(x)`, `xp.max(x, axis=1, keepdims=True)`."""
    arguments = [x] + ([] if axis is None else [f"axis={_axes_text(axis)}"]) + (["keepdims=True"] if keepdims else [])
    return f"{ctx.xp}.{function}({', '.join(arguments)})"


def _sum_to(ctx, x, *, shape):
    """The sum over the axes that broadcasting added (`lead`) and those it stretched from 1 (`kept`)."""
    lead, kept = sum_to_axes(ctx.arg_shapes[0], shape)
    if kept:
        x = _reduction(ctx, "sum", x, kept, True)
    return _reduction(ctx, "sum", x, lead, False) if lead else x


for _name, _function in (("sum", "sum"), ("mean", "mean"), ("amax", "max"), ("amin", "min")):
    register_lowering(_name, lambda ctx, x, *, axis, keepdims, _function=_function:
                      _reduction(ctx, _function, x, axis, keepdims))
register_lowering("sum_to", _sum_to)


# shape plumbing
def _expand_dims(ctx, x, *, axis):
    """`x[None, :]`: every axis named, since the standard indexes no array by fewer axes than it has."""
    axis = inserted_axes(len(ctx.arg_shapes[0]), axis)
    index = ["None" if i in axis else ":" for i in range(len(ctx.arg_shapes[0]) + len(axis))]
    return f"{x}[{', '.join(index)}]"


def _broadcast_to(ctx, x, *, shape):
    """`xp.broadcast_to(x, (n,))`; a 0-d operand made an array, since its name may hold a Python number
    (`g_t8 = -1.0 / n`, a mean's adjoint), which the standard's broadcast_to does not take."""
    array = ctx.array(x) if ctx.arg_shapes[0] else f"{ctx.xp}.asarray({x}, dtype={ctx.dtype}, device={ctx.device})"
    return f"{ctx.xp}.broadcast_to({array}, {ctx.shape(shape)})"


def _transpose(ctx, x, *, axes=None):
    """x.T for a matrix (the standard's .T is for matrices only); any other permutation by permute_dims."""
    order = permutation(ctx.arg_shapes[0], axes)
    if order == tuple(range(len(order))):
        return x
    if order == (1, 0):
        return f"{x}.T"
    return f"{ctx.xp}.permute_dims({x}, {order})"


register_lowering("broadcast_to", _broadcast_to)
register_lowering("expand_dims", _expand_dims)
register_lowering("squeeze", lambda ctx, x, *, axis:
                  f"{ctx.xp}.squeeze({x}, axis={ctx.axes(squeezed_axes(ctx.arg_shapes[0], axis))})")
register_lowering("transpose", _transpose)


# linear algebra and indexing
def _index_text(ctx, index, ndim, in_tuple=False):
    """`1, ::-1, None`, with a trailing `...` where it names fewer axes than the array has: the standard indexes
    no array by fewer (NumPy fills them with `:`). A bound may be a dimension (a join's block, `g[n:]`); in a
    tuple (a helper's argument, where `1:` is no syntax) a slice is `slice(1, None, None)`."""
    def bound(value):
        return ctx.dim(value, operand=True) if isinstance(value, str) else "" if value is None else str(value)

    def spelled(item):
        if not isinstance(item, Slice):
            return str(item)
        if in_tuple:
            return f"slice({', '.join(bound(b) or 'None' for b in item)})"
        text = f"{bound(item.start)}:{bound(item.stop)}"
        return text + ("" if item.step is None else f":{item.step}")
    return ", ".join([spelled(item) for item in index] + (["..."] if len(consumed(index)) < ndim else []))


def _vdot(ctx, a, b):
    """sum(a * b) over every axis: a dot product (`@`) for vectors, else the sum of the product."""
    return f"{a} @ {b}" if len(ctx.arg_shapes[0]) == 1 else f"{ctx.xp}.sum({a} * {b})"


def _matmul(ctx, a, b):
    """a @ b; X.T @ v of a vector as v @ X, which XLA computes without forming the transpose (2-3x at 10^4 rows)."""
    if len(ctx.arg_shapes[0]) == 2 and len(ctx.arg_shapes[1]) == 1 and a.endswith(".T") and a[:-2].isidentifier():
        return f"{b} @ {a[:-2]}"
    return f"{a} @ {b}"


register_lowering("matmul", _matmul)
register_lowering("t_matmul", lambda ctx, a, b: f"{_transpose(ctx, a)} @ {b}")
register_lowering("outer", "{0}[:, None] * {1}")
register_lowering("vdot", _vdot)


def _forwards(index, shape):
    """The index with each slice of negative step made one of positive step along that axis flipped, and the
    flipped axes: torch slices with no negative step, and one spelling serves every namespace. A symbolic
    dimension takes only `::-1` backwards (the shape rule names no other length), which is `:` of the flip."""
    items, flipped, axis = [], [], 0
    for item in index:
        if isinstance(item, Slice) and item.step is not None and item.step < 0:
            flipped.append(axis)
            if item.keeps_whole():
                item = Slice()
            else:  # a fixed length: NumPy's own reading of the bounds, then j = length - 1 - i
                length = shape[axis]
                start, stop, step = slice(*item).indices(length)
                count = len(range(start, stop, step))
                last = start + (count - 1) * step
                item = Slice(length - 1 - start, length - last, -step if step != -1 else None) if count else \
                    Slice(0, 0)
                item = Slice() if item == Slice(0, length) else item
        items.append(item)
        axis += item is not None
    return tuple(items), tuple(flipped)


def _index(ctx, x, *, index):
    """`x[1, ::2]`; `xp.flip(x, axis=0)[1:]` for `x[-2::-1]` (see `_forwards`)."""
    index, flipped = _forwards(index, ctx.arg_shapes[0])
    if flipped:
        x = f"{ctx.xp}.flip({x}, axis={ctx.axes(flipped)})"
        if all(item == Slice() for item in index):  # x[::-1]: the flip alone
            return x
    return f"{x}[{_index_text(ctx, index, len(ctx.arg_shapes[0]))}]"


register_lowering("index", _index)


# the adjoint of indexing: zeros with g written at the index, in place where the namespace allows it
def _scatter(ctx, g, *, index, shape):
    """`_scatter(zeros, (1, slice(None, None, -1)), g)`; the standard writes through no `None` of an index, so
    those items go, and g's axes of length 1 that they made with them. A g that broadcasts to the indexed part
    (a scalar, from a mean's adjoint) is broadcast first, as NumPy's assignment would."""
    region = index_shape(shape, index=index)
    if tuple(ctx.arg_shapes[0]) != tuple(region):
        g = _broadcast_to(ctx, g, shape=region) if region else g
    made, position = [], 0
    for item in index:
        if item is None:
            made.append(position)
        position += not isinstance(item, int)
    if made:
        g = f"{ctx.xp}.squeeze({g}, axis={ctx.axes(tuple(made))})"
        index = tuple(item for item in index if item is not None)
    index, flipped = _forwards(index, shape)
    if flipped and all(item == Slice() for item in index):  # x[::-1]'s adjoint: g flipped back, no zeros
        # NOTE: also where XLA 0.10 aborts: flip(zeros.at[:].set(g)) fails its algebraic simplifier
        return f"{ctx.xp}.flip({g}, axis={ctx.axes(flipped)})"
    spelled = _index_text(ctx, index, len(shape), in_tuple=True)
    text = f"{ctx.helper('_scatter')}({ctx.filled('zeros', shape)}, ({spelled},), {g})"
    return f"{ctx.xp}.flip({text}, axis={ctx.axes(flipped)})" if flipped else text


register_lowering("scatter", _scatter)

# activations written with the standard's functions (Python floats where the 2024.12 standard takes scalars)
register_lowering("exp2", "2.0 ** {0}")
register_lowering("relu6", "{xp}.minimum({xp}.maximum({0}, 0.0), 6.0)")
register_lowering("hard_tanh", "{xp}.clip({0}, min=-1.0, max=1.0)")
register_lowering("softsign", "{0} / (1.0 + {xp}.abs({0}))")
register_lowering("logit", "{xp}.log({0}) - {xp}.log1p(-{0})")
register_lowering("silu", "{0} * _sigmoid({xp}, {0})", helpers=("_sigmoid",))
# log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): no overflow either side
register_lowering("log_sigmoid", "{xp}.minimum({0}, 0.0) - {xp}.log1p({xp}.exp(-{xp}.abs({0})))")


# issue 12's elementwise functions, written with the standard's functions where it lacks NumPy's
# cbrt: the standard has none; |x| ** (1/3) with x's sign (within 2 ulp of np.cbrt)
register_lowering("cbrt", "{xp}.sign({0}) * {xp}.abs({0}) ** " + repr(1.0 / 3.0))
# log2(2**x + 2**y) = max + log2(1 + 2**-|x - y|): no overflow, as np.logaddexp2
register_lowering("logaddexp2", "{xp}.maximum({0}, {1}) + {xp}.log1p(2.0 ** -{xp}.abs({0} - {1})) / " +
                  repr(float(np.log(2.0))))
register_lowering("clip", "{xp}.minimum({xp}.maximum({0}, {1}), {2})")  # np.clip's meaning, where lo > hi too
# erf is no function of the standard: the module's `_erf` sums NumPy backend's series with a fixed term count
register_lowering("erf", "_erf({xp}, {0})", helpers=("_erf",))
register_lowering("gelu", lambda ctx, x, *, approximate: (
    f"0.5 * {x} * (1.0 + {ctx.xp}.tanh({GELU_C!r} * ({x} + {GELU_K!r} * {x} * {x} * {x})))" if approximate else
    f"0.5 * {x} * (1.0 + {ctx.helper('_erf')}({ctx.xp}, {x} * {SQRT_HALF!r}))"))
register_lowering("elu", lambda ctx, x, *, alpha: f"{ctx.xp}.where({x} > 0.0, {x}, "
                                                  f"{ctx.literal(alpha)} * {ctx.xp}.expm1({ctx.xp}.minimum({x}, 0.0)))")
register_lowering("selu", f"{{xp}}.where({{0}} > 0.0, {SELU_SCALE!r} * {{0}}, "
                          f"{SELU_SCALE * SELU_ALPHA!r} * {{xp}}.expm1({{xp}}.minimum({{0}}, 0.0)))")
register_lowering("leaky_relu", lambda ctx, x, *, negative_slope:
                  f"{ctx.xp}.where({x} >= 0.0, {x}, {ctx.literal(negative_slope)} * {x})")
register_lowering("mish", "{0} * {xp}.tanh({xp}.maximum({0}, 0.0) + {xp}.log1p({xp}.exp(-{xp}.abs({0}))))")

# masks are 0/1 floats here; the standard's logical functions and where take bools, so a mask is read as != 0
register_lowering("eq", "{xp}.astype({0} == {1}, {dtype})")
register_lowering("ne", "{xp}.astype({0} != {1}, {dtype})")
register_lowering("logical_and", "{xp}.astype({xp}.logical_and({0} != 0.0, {1} != 0.0), {dtype})")
register_lowering("logical_or", "{xp}.astype({xp}.logical_or({0} != 0.0, {1} != 0.0), {dtype})")
register_lowering("logical_not", "{xp}.astype({0} == 0.0, {dtype})")


def _where(ctx, cond, a, b):
    """`xp.where(c != 0.0, a, b)`; of two Python numbers one made an array (the standard takes one scalar at most)."""
    if ctx.array(b) != b:
        a = ctx.array(a)
    return f"{ctx.xp}.where({cond} != 0.0, {a}, {b})"


register_lowering("where", _where)


# ---- issue 13's shapes, constructions, triangles, diagonals and gathers (gradc/ops/shaping.py,
# construction.py, gathers.py; kron's split_axes and merge_axes, cholesky's lower_half) ----
def _reshape(ctx, x, shape):
    """`xp.reshape(x, (n, 3))`, the standard's function (its arrays have no .reshape method)."""
    return f"{ctx.xp}.reshape({x}, {shape})"


register_lowering("swapaxes", lambda ctx, x, *, axis1, axis2: _transpose(ctx, x, axes=tuple(
    swapped(ctx.arg_shapes[0], axis1, axis2))))
register_lowering("moveaxis", lambda ctx, x, *, source, destination: _transpose(ctx, x, axes=tuple(
    moved(ctx.arg_shapes[0], source, destination))))


def _roll(ctx, x, *, shift, axis):
    """`xp.roll(x, shift=(1, 2), axis=(0, 1))`, one total shift per axis: the standard pairs a tuple shift
    with a tuple of as many axes only, where NumPy also adds up the shifts given for one axis (shift=(1, 1),
    axis=1 rolls by 2; torch refuses it)."""
    if axis is None:
        return f"{ctx.xp}.roll({x}, shift={shift!r})"
    axes, shifts = (a if isinstance(a, tuple) else (a,) for a in (axis, shift))
    count = max(len(axes), len(shifts))
    axes, shifts = (pairs * (count // len(pairs)) for pairs in (axes, shifts))  # one broadcast to many
    ndim, totals = len(ctx.arg_shapes[0]), {}
    for a, s in zip(axes, shifts):
        totals[a % ndim] = totals.get(a % ndim, 0) + s
    if len(totals) == 1:
        [(a, s)] = totals.items()
        return f"{ctx.xp}.roll({x}, shift={s}, axis={a})"
    return f"{ctx.xp}.roll({x}, shift={tuple(totals.values())}, axis={tuple(totals)})"


register_lowering("roll", _roll)
register_lowering("repeat", lambda ctx, x, *, repeats, axis: f"{ctx.xp}.repeat({x}, {repeats})"
                  if axis is None else f"{ctx.xp}.repeat({x}, {repeats}, axis={axis})")
# the standard's tile takes a tuple only; NumPy's an int too, with the same meaning as (reps,)
register_lowering("tile", lambda ctx, x, *, reps: f"{ctx.xp}.tile({x}, "
                                                  f"{reps if isinstance(reps, tuple) else (reps,)!r})")


def _repeat_sum(ctx, g, *, repeats, axis, shape):
    """`xp.sum(xp.reshape(g, (n, 3, d)), axis=1)`: each run of copies on an axis of its own, summed."""
    if axis is None:
        flat = f"{ctx.xp}.sum({_reshape(ctx, g, f'(-1, {repeats})')}, axis=1)"
        return flat if len(shape) == 1 else _reshape(ctx, flat, ctx.shape(shape))
    split = shape[:axis + 1] + (repeats,) + shape[axis + 1:]
    return f"{ctx.xp}.sum({_reshape(ctx, g, ctx.shape(split))}, axis={axis + 1})"


def _tile_sum(ctx, g, *, reps, shape):
    """`xp.sum(xp.reshape(g, (2, n, 3, d)), axis=(0, 2))`: each tiled axis split into (copies, length), the
    copies summed."""
    split, copies = tile_split(shape, reps)
    if not copies:  # every reps 1: only new leading axes of length 1 to drop
        return _reshape(ctx, g, ctx.shape(shape))
    return f"{ctx.xp}.sum({_reshape(ctx, g, ctx.shape(split))}, axis={ctx.axes(copies)})"


register_lowering("repeat_sum", _repeat_sum)
register_lowering("tile_sum", _tile_sum)
register_lowering("reshape", lambda ctx, x, *, shape: _reshape(ctx, x, ctx.shape(shape)))
register_lowering("ravel", lambda ctx, x: _reshape(ctx, x, "(-1,)"))
register_lowering("split_axes", lambda ctx, x, *, parts: _reshape(ctx, x, ctx.shape(sum(parts, ()))))
register_lowering("merge_axes", lambda ctx, x: _reshape(ctx, x, ctx.shape(merged_shape(ctx.arg_shapes[0]))))

# arrays made from a shape or written out, in the function's dtype and device
register_lowering("full", lambda ctx, *, shape, fill_value: ctx.literal(fill_value) if not shape else
                  f"{ctx.xp}.full({ctx.shape(shape)}, {ctx.literal(fill_value)}, dtype={ctx.dtype}, "
                  f"device={ctx.device})")
register_lowering("identity", lambda ctx, *, shape: f"{ctx.xp}.eye({ctx.dim(shape[0])}, dtype={ctx.dtype}, "
                                                    f"device={ctx.device})")
register_lowering("literal", lambda ctx, *, values: f"{ctx.xp}.asarray({literal_text(values)}, dtype={ctx.dtype}, "
                                                    f"device={ctx.device})")


def _like(function, fill):
    """`xp.zeros_like(a, dtype=dtype)`: the function's float dtype, where a may hold integers; of a scalar,
    the number itself (as the NumPy backend writes it)."""
    def lower(ctx, a, **attrs):
        value = fill if fill is not None else attrs["fill_value"]
        if not ctx.arg_shapes[0]:
            return ctx.literal(value)
        filled = "" if fill is not None else f", {ctx.literal(value)}"
        return f"{ctx.xp}.{function}({a}{filled}, dtype={ctx.dtype})"
    return lower


register_lowering("zeros_like", _like("zeros_like", 0.0))
register_lowering("ones_like", _like("ones_like", 1.0))
register_lowering("full_like", _like("full_like", None))

# triangles and diagonals: tril and triu are the standard's, diagonal its linalg extension's; a matrix made
# from a diagonal is the module's `_diagonal_matrix`, a mask where NumPy writes in place (np.fill_diagonal)
register_lowering("tril", lambda ctx, x, *, k: f"{ctx.xp}.tril({x}, k={k})" if k else f"{ctx.xp}.tril({x})")
register_lowering("triu", lambda ctx, x, *, k: f"{ctx.xp}.triu({x}, k={k})" if k else f"{ctx.xp}.triu({x})")
# Φ(X): below the diagonal, and half of it (tril of triu: the diagonal alone)
register_lowering("lower_half", "{xp}.tril({0}, k=-1) + 0.5 * {xp}.tril({xp}.triu({0}))")


def _diagonal(ctx, x, offset):
    return f"{ctx.xp}.linalg.diagonal({x}, offset={offset})" if offset else f"{ctx.xp}.linalg.diagonal({x})"


def _diagonal_matrix(ctx, v, offset, shape):
    rows, columns = (ctx.dim(d) for d in shape)
    return f"{ctx.helper('_diagonal_matrix')}({ctx.xp}, {v}, {offset}, {rows}, {columns})"


def _diag(ctx, x, *, k):
    """np.diag: of a matrix its k-th diagonal, of a vector the square matrix with it on the k-th diagonal."""
    if len(ctx.arg_shapes[0]) == 2:
        return _diagonal(ctx, x, k)
    side = dimensions.add(ctx.arg_shapes[0][0], abs(k))
    return _diagonal_matrix(ctx, x, k, (side, side))


register_lowering("diagonal", lambda ctx, x, *, offset: _diagonal(ctx, x, offset))
register_lowering("undiagonal", lambda ctx, g, *, offset, shape: _diagonal_matrix(ctx, g, offset, shape))
register_lowering("diag", _diag)


# gathers by integer indices: the standard's take_along_axis; their adjoints add with one-hot masks (the
# standard has no scatter-add), so repeated indices add up
def _per_row(indices, rank):
    """`labels[:, None, None]`: one index per row, given the rank of the array it indexes (the standard names
    every axis in an index)."""
    return f"{indices}[:, {', '.join(['None'] * (rank - 1))}]"


def _columns(ctx, shape):
    """`xp.arange(c)`, the column numbers of a (n, c, ...) array, along its second axis."""
    columns = f"{ctx.xp}.arange({ctx.dim(shape[1])}, device={ctx.device})"
    return columns + (f"[:, {', '.join(['None'] * (len(shape) - 2))}]" if len(shape) > 2 else "")


def _pick(ctx, x, indices):
    """`Z[arange(n), labels]` as the sum of each row where its column is the label, a mask like pick_put's:
    every namespace has where and sum (dask's has no take_along_axis), and a nan or inf elsewhere in the row
    stays out, as it does in NumPy's gather."""
    shape = ctx.arg_shapes[0]
    chosen = f"{ctx.xp}.where({_per_row(indices, len(shape))} == {_columns(ctx, shape)}, {x}, 0.0)"
    return f"{ctx.xp}.sum({chosen}, axis=1)"


def _pick_put(ctx, g, indices, *, shape):
    """Zeros with row i of g at column labels[i]: g where labels[i] equals the column, a mask, since the rows
    differ and no two pairs (i, labels[i]) meet."""
    rank = len(shape)
    spread = f"{g}[{', '.join('None' if i == 1 else ':' for i in range(rank))}]"  # g[:, None, :]
    return f"{ctx.xp}.where({_per_row(indices, rank)} == {_columns(ctx, shape)}, {spread}, 0.0)"


def _take_along_add(ctx, g, indices, *, axis, shape):
    """`_take_along_add(xp, g, labels, 1, c)`, then summed over the axes where x had length 1 and the gather
    broadcast it (the indices longer there)."""
    size = ctx.dim(shape[axis])
    text = f"{ctx.helper('_take_along_add')}({ctx.xp}, {g}, {indices}, {axis}, {size})"
    broadcast = tuple(i for i, (d, e) in enumerate(zip(shape, ctx.arg_shapes[0])) if i != axis and d == 1 != e)
    return _reduction(ctx, "sum", text, broadcast, True) if broadcast else text


register_lowering("pick", _pick)
register_lowering("pick_put", _pick_put)
register_lowering("take_along_axis", lambda ctx, x, indices, *, axis: f"{ctx.xp}.take_along_axis({x}, {indices}, "
                  f"axis={0 if axis is None else axis % len(ctx.arg_shapes[0])})")
register_lowering("take_along_axis_add", _take_along_add)
# ---- end of issue 13's shapes, constructions and gathers ----


# ---- issue 13's linear algebra and contractions (gradc/ops/solves.py, contractions.py) ----
# the standard's linalg extension; NumPy 2's solve reads a vector b as a vector, as the standard does
register_lowering("inv", "{xp}.linalg.inv({0})")
register_lowering("solve", "{xp}.linalg.solve({0}, {1})")
register_lowering("det", "{xp}.linalg.det({0})")
register_lowering("logabsdet", "{xp}.linalg.slogdet({0}).logabsdet")
register_lowering("slogdet_sign", "{xp}.linalg.slogdet({0}).sign")
register_lowering("logdet", "_logdet({xp}, {0})", helpers=("_logdet",))
register_lowering("cholesky", "{xp}.linalg.cholesky({0})")


def _tensordot(ctx, a, b, *, axes):
    """`xp.tensordot(a, b, axes=((1,), (0,)))`: the standard takes two sequences of non-negative axes."""
    pair = tensordot_axes(ctx.arg_shapes[0], ctx.arg_shapes[1], axes)
    return f"{ctx.xp}.tensordot({a}, {b}, axes={tuple(tuple(side) for side in pair)})"


def _dot(ctx, a, b):
    """np.dot of arrays the simplifier left (an operand of more than two axes): a's last axis against b's
    second-to-last (its only one for a vector), a tensordot."""
    a_shape, b_shape = ctx.arg_shapes
    return f"{ctx.xp}.tensordot({a}, {b}, axes=(({len(a_shape) - 1},), ({max(len(b_shape) - 2, 0)},)))"


def _inner(ctx, a, b):
    """np.inner: the last axes summed together, a tensordot."""
    a_shape, b_shape = ctx.arg_shapes
    return f"{ctx.xp}.tensordot({a}, {b}, axes=(({len(a_shape) - 1},), ({len(b_shape) - 1},)))"


def _kron(ctx, a, b):
    """np.kron without a kron in the standard: a's axes interleaved with b's (each padded with leading 1s to the
    longer rank), their product, and each pair of axes merged: kron(a, b)[i*p + k] = a[i] b[k]."""
    a_shape, b_shape = padded_shapes(*ctx.arg_shapes)
    wide_a = ctx.shape(tuple(d for dim in a_shape for d in (dim, 1)))
    wide_b = ctx.shape(tuple(d for dim in b_shape for d in (1, dim)))
    product = f"{ctx.xp}.reshape({a}, {wide_a}) * {ctx.xp}.reshape({b}, {wide_b})"
    merged = tuple(dimensions.multiply(x, y) for x, y in zip(a_shape, b_shape))
    return f"{ctx.xp}.reshape({product}, {ctx.shape(merged)})"


def _arranged(ctx, x, term, order):
    """x, whose axes are `term`'s letters, with its axes in `order` (a permutation of term)."""
    if tuple(order) == tuple(term):
        return x
    return f"{ctx.xp}.permute_dims({x}, {tuple(term.index(c) for c in order)})"


def _diagonals(ctx, x, term):
    """x and its letters with each repeated letter's diagonal taken ('bii' -> 'bi'): the two axes moved last,
    then the standard's linalg.diagonal, which puts the diagonal last."""
    while len(set(term)) != len(term):
        c = next(c for c in term if term.count(c) > 1)
        first, second = term.index(c), term.index(c, term.index(c) + 1)
        rest = [i for i in range(len(term)) if i not in (first, second)]
        x = _arranged(ctx, x, term, "".join(term[i] for i in rest + [first, second]))
        x, term = f"{ctx.xp}.linalg.diagonal({x})", "".join(term[i] for i in rest) + c
    return x, term


def _einsum(ctx, *operands, spec):
    """einsum with no einsum in the standard, for what the simplifier leaves (one or two operands): repeated
    letters of an operand become its diagonal, the letters one operand alone has and the output lacks are
    summed, and two operands then meet in a batched matmul, (batch, a's, shared) @ (batch, shared, b's),
    reshaped to the output's axes.
    """
    inputs, output = split_spec(spec)
    if len(operands) > 2:  # the simplifier makes pairs (rules.py, einsum_in_pairs): this is a new rule's
        raise GradcError(f"operation 'einsum' has no lowering for the {BACKEND} backend of {len(operands)} "
                         "operands: compile with backend='numpy'")
    xp = ctx.xp
    arrays, terms, sizes = list(operands), list(inputs), [dict(zip(t, s)) for t, s in zip(inputs, ctx.arg_shapes)]
    for k, term in enumerate(terms):
        arrays[k], terms[k] = _diagonals(ctx, arrays[k], term)
    for k, term in enumerate(terms):  # letters only this operand has and the output drops: summed here
        others = output + "".join(t for j, t in enumerate(terms) if j != k)
        alone = tuple(i for i, c in enumerate(term) if c not in others)
        if alone:
            arrays[k] = f"{xp}.sum({arrays[k]}, axis={alone if len(alone) > 1 else alone[0]})"
            terms[k] = "".join(c for i, c in enumerate(term) if i not in alone)
    if len(arrays) == 1:
        return _arranged(ctx, arrays[0], terms[0], output)
    (a, b), (left, right), (a_sizes, b_sizes) = arrays, terms, sizes
    batch = [c for c in output if c in left and c in right]
    shared = [c for c in left if c in right and c not in output]
    a_own, b_own = [c for c in left if c not in right], [c for c in right if c not in left]

    def grouped(x, term, order, own_sizes, groups):
        """x arranged as `order`, its axes after the batch merged into `groups` (one axis each)."""
        x = _arranged(ctx, x, term, order)
        now = tuple(own_sizes[c] for c in order)
        shape = now[:len(batch)] + tuple(dimensions.multiply(*(own_sizes[c] for c in g)) if g else 1 for g in groups)
        return x if shape == now else f"{xp}.reshape({x}, {ctx.shape(shape)})"

    product = (f"{grouped(a, left, batch + a_own + shared, a_sizes, (a_own, shared))} @ "
               f"{grouped(b, right, batch + shared + b_own, b_sizes, (shared, b_own))}")
    natural = batch + a_own + b_own  # the product's letters once its last two axes are split back
    if not len(a_own) == len(b_own) == 1:
        whole = {c: a_sizes[c] if a_sizes.get(c, 1) != 1 else b_sizes.get(c, 1) for c in natural}
        product = f"{xp}.reshape({product}, {ctx.shape(tuple(whole[c] for c in natural))})"
    return _arranged(ctx, product, "".join(natural), output)


register_lowering("tensordot", _tensordot)
register_lowering("dot", _dot)
register_lowering("inner", _inner)
register_lowering("kron", _kron)
register_lowering("einsum", _einsum)
# ---- end of issue 13's linear algebra and contractions ----


# products, spreads, norms
register_lowering("prod", lambda ctx, x, *, axis, keepdims: _reduction(ctx, "prod", x, axis, keepdims))
register_lowering("prod_others", lambda ctx, x, *, axis: "1.0" if not ctx.arg_shapes[0] else
                  f"{ctx.helper('_prod_others')}({ctx.xp}, {x}, {normalize_axes(ctx.arg_shapes[0], axis)!r})")


def _spread(function):
    """`xp.var(x, axis=0, correction=1)`: the standard names NumPy's ddof `correction`."""
    def lower(ctx, x, *, axis, ddof, keepdims):
        arguments = [x] + ([] if axis is None else [f"axis={_axes_text(axis)}"]) + \
            ([f"correction={ddof!r}"] if ddof else []) + (["keepdims=True"] if keepdims else [])
        return f"{ctx.xp}.{function}({', '.join(arguments)})"
    return lower


register_lowering("var", _spread("var"))
register_lowering("std", _spread("std"))


def _norm(ctx, x, *, ord, axis, keepdims):
    """np.linalg.norm as the standard's `xp.linalg.vector_norm` (flat or along an axis) or `matrix_norm`, which
    takes the last two axes: a matrix over other axes is moved there first, and its kept axes put back."""
    shape = ctx.arg_shapes[0]
    kind, axes = classify(shape, ord, axis)
    order = "" if ord is None else f", ord={ctx.literal(ord) if abs(ord) == float('inf') else repr(ord)}" \
        if not isinstance(ord, str) else f", ord={ord!r}"
    if kind != "matrix":
        along = "" if kind == "flat" else f", axis={axes[0]}"
        return f"{ctx.xp}.linalg.vector_norm({x}{along}{order}{', keepdims=True' if keepdims else ''})"
    rest = tuple(i for i in range(len(shape)) if i not in axes)
    if rest + axes != tuple(range(len(shape))):
        x = f"{ctx.xp}.permute_dims({x}, {rest + axes})"
    text = f"{ctx.xp}.linalg.matrix_norm({x}{order if ord is not None else ''})"
    if keepdims:
        text = f"{ctx.xp}.expand_dims({text}, axis={tuple(sorted(axes))})"
    return text


register_lowering("norm", _norm)
register_lowering("singular_direction", lambda ctx, x, *, ord:
                  f"{ctx.helper('_singular_direction')}({ctx.xp}, {x}, {ord!r})")


# running sums and products: the 2024.12 standard's cumulative_sum and cumulative_prod, flattened for axis None
def _running(function):
    def lower(ctx, x, *, axis):
        if axis is None:
            flat = x if len(ctx.arg_shapes[0]) == 1 else f"{ctx.xp}.reshape({x}, (-1,))"
            return f"{ctx.xp}.{function}({flat})"
        return f"{ctx.xp}.{function}({x}, axis={axis})"
    return lower


def _rcumsum(ctx, g, *, axis, shape):
    """The running sum from the end: flipped, summed, flipped back; a flat one reshaped to `shape`."""
    along = 0 if axis is None else axis
    xp = ctx.xp
    text = f"{xp}.flip({xp}.cumulative_sum({xp}.flip({g}, axis={along}), axis={along}), axis={along})"
    return text if axis is not None or len(shape) == 1 else f"{xp}.reshape({text}, {ctx.shape(shape)})"


register_lowering("cumsum", _running("cumulative_sum"))
register_lowering("cumprod", _running("cumulative_prod"))
register_lowering("rcumsum", _rcumsum)


# linear algebra, shaping and gathers
register_lowering("trace", "{xp}.linalg.trace({0})")
register_lowering("flip", lambda ctx, x, *, axis: f"{ctx.xp}.flip({x})" if axis is None else
                  f"{ctx.xp}.flip({x}, axis={ctx.axes(axis)})")


def _take(ctx, x, indices, *, axis):
    """`xp.take(x, i, axis=1)`; the standard takes 1-d indices only, so others are flattened and the result
    reshaped to x's shape with the indices' in place of the axis."""
    x_shape, index_shape = ctx.arg_shapes
    axis = axis % len(x_shape)
    if len(index_shape) == 1:
        return f"{ctx.xp}.take({x}, {indices}, axis={axis})"
    taken = f"{ctx.xp}.take({x}, {ctx.xp}.reshape({indices}, (-1,)), axis={axis})"
    shape = tuple(x_shape[:axis]) + tuple(index_shape) + tuple(x_shape[axis + 1:])
    return f"{ctx.xp}.reshape({taken}, {ctx.shape(shape)})"


register_lowering("take", _take)
# the standard has no scatter-add: the module's `_take_add` multiplies by a one-hot matrix, so repeats add up
register_lowering("take_add", lambda ctx, g, indices, *, axis, shape:
                  f"{ctx.helper('_take_add')}({ctx.xp}, {g}, {indices}, {axis % len(shape)}, {ctx.dim(shape[axis])})")


def _join(name):
    """`xp.concat([a, b[None, :]], axis=0)`: each operand raised to the result's rank as the join's layout says
    (vstack makes a vector a row, stack adds the new axis), then the standard's concat."""
    def lower(ctx, *arrays, **attrs):
        raised, axis = LAYOUTS[name](ctx.arg_shapes, **attrs)
        rank = len(raised[0][0])
        parts = []
        for x, (_, inserted) in zip(arrays, raised):
            x = ctx.array(x)
            inserted = {i % rank for i in inserted}
            parts.append(f"{x}[{', '.join('None' if i in inserted else ':' for i in range(rank))}]" if inserted else x)
        return f"{ctx.xp}.concat([{', '.join(parts)}], axis={axis % rank})"
    return lower


for _name in LAYOUTS:
    register_lowering(_name, _join(_name))
