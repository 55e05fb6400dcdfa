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

from gradc import shapes
from gradc.errors import GradcError
from gradc.ops.indexing import Slice
from gradc.ops.reduce import sum_to_axes

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
    "minimum", "hypot", "floor", "ceil", "trunc", "round", "copysign", "reciprocal")})


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
register_lowering("input", lambda ctx, *, var, dims: var)
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
    index = ["None" if i in axis else ":" for i in range(len(ctx.arg_shapes[0]) + len(axis))]
    while index and index[-1] == ":":
        index.pop()
    return f"{x}[{', '.join(index)}]"


def _transpose(ctx, x):
    """x.T for a matrix (the standard's .T is for matrices only); the axes reversed by permute_dims past two."""
    ndim = len(ctx.arg_shapes[0])
    if ndim < 2:
        return x
    if ndim == 2:
        return f"{x}.T"
    return f"{ctx.xp}.permute_dims({x}, {tuple(range(ndim))[::-1]})"


register_lowering("broadcast_to", lambda ctx, x, *, shape: f"{ctx.xp}.broadcast_to({ctx.array(x)}, {ctx.shape(shape)})")
register_lowering("expand_dims", _expand_dims)
register_lowering("squeeze", lambda ctx, x, *, axis: f"{ctx.xp}.squeeze({x}, axis={ctx.axes(axis)})")
register_lowering("transpose", _transpose)


# linear algebra and indexing
def _index_text(index):
    return ", ".join(str(i) for i in index)


def _index_tuple(index):
    """The index as a tuple expression (`(slice(1, None, None), 0)`): a helper's argument, where `1:` is no syntax."""
    items = [f"slice({', '.join(str(bound) for bound in i)})" if isinstance(i, Slice) else str(i) for i in index]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _vdot(ctx, a, b):
    """sum(a * b) over every axis: a dot product (`@`) for vectors, else the sum of the product."""
    return f"{a} @ {b}" if len(ctx.arg_shapes[0]) == 1 else f"{ctx.xp}.sum({a} * {b})"


register_lowering("matmul", "{0} @ {1}")
register_lowering("t_matmul", lambda ctx, a, b: f"{_transpose(ctx, a)} @ {b}")
register_lowering("outer", "{0}[:, None] * {1}")
register_lowering("vdot", _vdot)
register_lowering("index", lambda ctx, x, *, index: f"{x}[{_index_text(index)}]")
# the adjoint of indexing: zeros with g written at the index, in place where the namespace allows it
register_lowering("scatter", lambda ctx, g, *, index, shape:
                  f"_scatter({ctx.filled('zeros', shape)}, {_index_tuple(index)}, {g})", helpers=("_scatter",))

# activations written with the standard's functions (Python floats where the 2024.12 standard takes scalars)
register_lowering("exp2", "2.0 ** {0}")
register_lowering("relu6", "{xp}.minimum({xp}.maximum({0}, 0.0), 6.0)")
register_lowering("hard_tanh", "{xp}.clip({0}, min=-1.0, max=1.0)")
register_lowering("softsign", "{0} / (1.0 + {xp}.abs({0}))")
register_lowering("logit", "{xp}.log({0}) - {xp}.log1p(-{0})")
register_lowering("silu", "{0} * _sigmoid({xp}, {0})", helpers=("_sigmoid",))
# log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): no overflow either side
register_lowering("log_sigmoid", "{xp}.minimum({0}, 0.0) - {xp}.log1p({xp}.exp(-{xp}.abs({0})))")
