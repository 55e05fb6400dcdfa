"""Leaves and broadcasting elementwise operations."""
import numpy as np

from gradc import shapes
from gradc.ops import Op, call, defop, diagonal, tangent_sum


def _scalar_shape(**attrs):
    return ()


def _emit_const(ctx, *, value):
    return ctx.literal(value)


INPUT = defop(Op(name="input", arity=0, shape=lambda *, var, dims: dims, emit=lambda ctx, *, var, dims: var,
                 impl=None, public=False, doc="an input array or scalar"))
CONST = defop(Op(name="const", arity=0, shape=_scalar_shape, emit=_emit_const,
                 impl=lambda *, value: value, public=False, doc="a number"))


# An elementwise op's JVP is its VJP applied to the tangent (`diagonal`): each rule is written once.
def binary(name, symbol, emit, impl, vjp, doc, public=True):
    return defop(Op(name=name, arity=2, shape=lambda x, y: shapes.broadcast(x, y, op=name), emit=emit,
                    impl=impl, vjp=vjp, jvp=diagonal(vjp), symbol=symbol, elementwise=True, public=public,
                    doc=doc, ufunc=_ufunc(impl)))


def _ufunc(impl):
    """The name of the NumPy ufunc an op's emission calls, when its impl is that ufunc."""
    return impl.__name__ if isinstance(impl, np.ufunc) else ""


def unary(name, symbol, emit, impl, vjp, doc, public=True):
    return defop(Op(name=name, arity=1, shape=lambda x: x, emit=emit, impl=impl, vjp=vjp, jvp=diagonal(vjp),
                    symbol=symbol, elementwise=True, public=public, doc=doc, ufunc=_ufunc(impl)))


ADD = binary("add", "+", "{0} + {1}", np.add, lambda g, out, x, y: (g, g), "x + y")
SUB = binary("sub", "-", "{0} - {1}", np.subtract, lambda g, out, x, y: (g, -g), "x - y")
MUL = binary("mul", "×", "{0} * {1}", np.multiply, lambda g, out, x, y: (g * y, g * x), "x * y")
DIV = binary("div", "/", "{0} / {1}", np.divide, lambda g, out, x, y: (g / y, -g * out / y), "x / y")


def _pow_vjp(g, out, x, y):
    # NOTE: a constant exponent gets no log(x) term, so x**2 stays differentiable at x <= 0.
    exponent_grad = None if y.graph.value_of(y.node) is not None else g * call("log", x) * out
    return g * y * x ** (y - 1), exponent_grad


POW = binary("pow", "**", "{0} ** {1}", np.power, _pow_vjp, "x ** y")
# NOTE: at a tie, maximum routes the whole gradient to its first operand and minimum likewise.
MAXIMUM = binary("maximum", "max", "np.maximum({0}, {1})", np.maximum,
                 lambda g, out, x, y: (g * call("ge", x, y), g * call("lt", x, y)),
                 "maximum(x, y) or max(x, y): elementwise larger")
MINIMUM = binary("minimum", "min", "np.minimum({0}, {1})", np.minimum,
                 lambda g, out, x, y: (g * call("le", x, y), g * call("gt", x, y)),
                 "minimum(x, y) or min(x, y): elementwise smaller")

# The branch sum: where a value feeds several consumers, its partial adjoints add up here. It is `add`
# under its own name so that it stays visible in generated code and in pictures.
def _emit_accumulate(ctx, *partials):
    """`g_x_1 + g_x_2 + ...`, continued on further lines every 64 terms (Python parses a longer sum recursively)."""
    if len(partials) <= _TERMS_PER_LINE:
        return " + ".join(partials)
    chunks = [partials[i:i + _TERMS_PER_LINE] for i in range(0, len(partials), _TERMS_PER_LINE)]
    return ["{target} = " + " + ".join(chunks[0])] + ["{target} = {target} + " + " + ".join(chunk)
                                                      for chunk in chunks[1:]]


_TERMS_PER_LINE = 64
ACCUMULATE = defop(Op(name="accumulate", arity=-1, shape=lambda *xs: shapes.broadcast(*xs, op="accumulate"),
                      emit=_emit_accumulate, impl=lambda *xs: sum(xs[1:], xs[0]),
                      vjp=lambda g, out, *xs: (g,) * len(xs), jvp=lambda t, out, *xs: tangent_sum(*t),
                      symbol="+", elementwise=True, public=False, ufunc="add",  # in place for two partials
                      doc="sum of the partial gradients of a value used more than once"))

NEG = unary("neg", "-", "-{0}", np.negative, lambda g, out, x: (-g,), "-x", public=False)
EXP = unary("exp", "exp", "np.exp({0})", np.exp, lambda g, out, x: (g * out,), "exp(x)")
LOG = unary("log", "log", "np.log({0})", np.log, lambda g, out, x: (g / x,), "log(x): natural logarithm")
SQRT = unary("sqrt", "√", "np.sqrt({0})", np.sqrt, lambda g, out, x: (g / (2 * out),), "sqrt(x)")
SIN = unary("sin", "sin", "np.sin({0})", np.sin, lambda g, out, x: (g * call("cos", x),), "sin(x)")
COS = unary("cos", "cos", "np.cos({0})", np.cos, lambda g, out, x: (-(g * call("sin", x)),), "cos(x)")
TAN = unary("tan", "tan", "np.tan({0})", np.tan, lambda g, out, x: (g * (1 + out * out),), "tan(x)")
TANH = unary("tanh", "tanh", "np.tanh({0})", np.tanh, lambda g, out, x: (g * (1 - out * out),), "tanh(x)")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.maximum(x, -700.0)))


def _emit_sigmoid(ctx, x):
    """1 / (1 + exp(-x)), x held above -700 so that exp cannot overflow (the result is below 1e-304 there).

    Relatively accurate everywhere above -700, where 0.5 + 0.5*tanh(x/2) cancels to 0 below about -8 (it
    gives 0.0 for sigmoid(-40) = 4.25e-18); about 10% slower than that form. One expression for a scalar; for
    an array, one fresh buffer worked in place.
    """
    if not ctx.arg_shapes[0]:
        return f"1.0 / (1.0 + np.exp(-max({x}, -700.0)))"
    return [f"{{target}} = np.maximum({x}, -700.0)", "np.negative({target}, out={target})",
            "np.exp({target}, out={target})", "{target} += 1.0", "np.reciprocal({target}, out={target})"]


def _emit_softplus(ctx, x):
    """max(x, 0) + log1p(exp(-|x|)): stable, and ~7x faster than np.logaddexp(0, x); in place for arrays."""
    if not ctx.arg_shapes[0]:
        return f"np.maximum({x}, 0.0) + np.log1p(np.exp(-np.abs({x})))"
    return [f"{{target}} = np.abs({x})", "np.negative({target}, out={target})", "np.exp({target}, out={target})",
            "np.log1p({target}, out={target})", f"{{target}} += np.maximum({x}, 0.0)"]


SIGMOID = unary("sigmoid", "σ", _emit_sigmoid, _sigmoid,
                lambda g, out, x: (g * out * (1 - out),), "sigmoid(x) = 1 / (1 + exp(-x))")
# softplus(x) = log(1 + exp(x)), the stable form of log(sigmoid) that the simplifier introduces.
SOFTPLUS = unary("softplus", "softplus", _emit_softplus, lambda x: np.logaddexp(0.0, x),
                 lambda g, out, x: (g * call("sigmoid", x),), "softplus(x) = log(1 + exp(x))")
# NOTE: relu and abs have a kink at 0; their derivative there is taken as 0.
RELU = unary("relu", "relu", "np.maximum({0}, 0.0)", lambda x: np.maximum(x, 0.0),
             lambda g, out, x: (g * call("gt", x, 0.0),), "relu(x) = maximum(x, 0)")
ABS = unary("abs", "|x|", "np.abs({0})", np.abs, lambda g, out, x: (g * call("sign", x),), "abs(x)")
SIGN = unary("sign", "sign", "np.sign({0})", np.sign, lambda g, out, x: (None,), "sign(x)", public=False)

# Comparisons give 0/1 masks for the derivatives of max, min and relu; they have no gradient.
COMPARISONS = ("ge", "gt", "le", "lt")
# NOTE: masks are float 0/1, never bool: NumPy refuses `-mask`, and `mask + mask` on bools is a logical or.
_NO_GRAD = lambda g, out, x, y: (None, None)  # noqa: E731


def _mask(compare):
    return lambda x, y: np.where(compare(x, y), 1.0, 0.0)


GE = binary("ge", ">=", "np.where({0} >= {1}, 1.0, 0.0)", _mask(np.greater_equal), _NO_GRAD, "mask x >= y",
            public=False)
GT = binary("gt", ">", "np.where({0} > {1}, 1.0, 0.0)", _mask(np.greater), _NO_GRAD, "mask x > y", public=False)
LE = binary("le", "<=", "np.where({0} <= {1}, 1.0, 0.0)", _mask(np.less_equal), _NO_GRAD, "mask x <= y",
            public=False)
LT = binary("lt", "<", "np.where({0} < {1}, 1.0, 0.0)", _mask(np.less), _NO_GRAD, "mask x < y", public=False)

# The same comparisons as bool arrays, written inside the product that applies them: `g * (x > 0.0)` is one
# comparison and one multiply, no 0/1 float array. Only the last lowering pass makes them, as operands of
# `mul`, where no negation or sum can reach them.
IS_GE = binary("is_ge", ">=", "({0} >= {1})", lambda x, y: np.greater_equal(x, y), _NO_GRAD, "x >= y, bool",
               public=False)
IS_GT = binary("is_gt", ">", "({0} > {1})", lambda x, y: np.greater(x, y), _NO_GRAD, "x > y, bool", public=False)
IS_LE = binary("is_le", "<=", "({0} <= {1})", lambda x, y: np.less_equal(x, y), _NO_GRAD, "x <= y, bool",
               public=False)
IS_LT = binary("is_lt", "<", "({0} < {1})", lambda x, y: np.less(x, y), _NO_GRAD, "x < y, bool", public=False)
