"""Leaves and broadcasting elementwise operations."""
import numpy as np

from gradc import shapes
from gradc.ops.registry import Op, call, defop, diagonal, tangent_sum


def _scalar_shape(**attrs):
    return ()


INPUT = defop(Op(name="input", arity=0, shape=lambda *, var, dims: dims, impl=None, public=False,
                 doc="an input array or scalar"))
CONST = defop(Op(name="const", arity=0, shape=_scalar_shape, impl=lambda *, value: value, public=False, doc="a number"))


# An elementwise op's JVP is its VJP applied to the tangent (`diagonal`): each rule is written once.
def binary(name, symbol, impl, vjp, doc, public=True):
    return defop(Op(name=name, arity=2, shape=lambda x, y: shapes.broadcast(x, y, op=name), impl=impl, vjp=vjp,
                    jvp=diagonal(vjp), symbol=symbol, elementwise=True, public=public, doc=doc))


def unary(name, symbol, impl, vjp, doc, public=True):
    return defop(Op(name=name, arity=1, shape=lambda x: x, impl=impl, vjp=vjp, jvp=diagonal(vjp), symbol=symbol,
                    elementwise=True, public=public, doc=doc))


ADD = binary("add", "+", np.add, lambda g, out, x, y: (g, g), "x + y")
SUB = binary("sub", "-", np.subtract, lambda g, out, x, y: (g, -g), "x - y")
MUL = binary("mul", "×", np.multiply, lambda g, out, x, y: (g * y, g * x), "x * y")
DIV = binary("div", "/", np.divide, lambda g, out, x, y: (g / y, -g * out / y), "x / y")


def _pow_vjp(g, out, x, y):
    # NOTE: a constant exponent gets no log(x) term, so x**2 stays differentiable at x <= 0. With a variable
    # one, each partial is 0 where its factor y or out is 0, whatever the other factor: at x = 0, d/dy x**y
    # is 0 for y > 0 (out is 0), not 0 * log(0) = nan, and d/dx x**y at y = 0 is 0, not 0 * 0**-1 = nan.
    if y.graph.value_of(y.node) is not None:
        return g * y * x ** (y - 1), None
    return g * call("mul_no_nan", x ** (y - 1), y), g * call("mul_no_nan", call("log", x), out)


POW = binary("pow", "**", np.power, _pow_vjp, "x ** y")


# x * y, but 0 where y is 0 even if x is not finite (TensorFlow's multiply_no_nan): the partials of pow.
MUL_NO_NAN = binary("mul_no_nan", "×",
                    lambda x, y: np.where(np.equal(y, 0.0), 0.0, np.multiply(x, y))[()],
                    lambda g, out, x, y: (call("mul_no_nan", g, y), g * x), "x * y, 0 where y is 0", public=False)

# NOTE: at a tie, maximum routes the whole gradient to its first operand and minimum likewise.
MAXIMUM = binary("maximum", "max", np.maximum,
                 lambda g, out, x, y: (g * call("ge", x, y), g * call("lt", x, y)),
                 "maximum(x, y) or max(x, y): elementwise larger")
MINIMUM = binary("minimum", "min", np.minimum,
                 lambda g, out, x, y: (g * call("le", x, y), g * call("gt", x, y)),
                 "minimum(x, y) or min(x, y): elementwise smaller")

# The branch sum: where a value feeds several consumers, its partial adjoints add up here. It is `add`
# under its own name so that it stays visible in generated code and in pictures.
ACCUMULATE = defop(Op(name="accumulate", arity=-1, shape=lambda *xs: shapes.broadcast(*xs, op="accumulate"),
                      impl=lambda *xs: sum(xs[1:], xs[0]),
                      vjp=lambda g, out, *xs: (g,) * len(xs), jvp=lambda t, out, *xs: tangent_sum(*t),
                      symbol="+", elementwise=True, public=False,
                      doc="sum of the partial gradients of a value used more than once"))

NEG = unary("neg", "-", np.negative, lambda g, out, x: (-g,), "-x", public=False)
EXP = unary("exp", "exp", np.exp, lambda g, out, x: (g * out,), "exp(x)")
LOG = unary("log", "log", np.log, lambda g, out, x: (g / x,), "log(x): natural logarithm")
SQRT = unary("sqrt", "√", np.sqrt, lambda g, out, x: (g / (2 * out),), "sqrt(x)")
SIN = unary("sin", "sin", np.sin, lambda g, out, x: (g * call("cos", x),), "sin(x)")
COS = unary("cos", "cos", np.cos, lambda g, out, x: (-(g * call("sin", x)),), "cos(x)")
TAN = unary("tan", "tan", np.tan, lambda g, out, x: (g * (1 + out * out),), "tan(x)")
TANH = unary("tanh", "tanh", np.tanh, lambda g, out, x: (g * (1 - out * out),), "tanh(x)")


# Below this, exp(-x) overflows; from here on 1 + exp(x) is 1.0, so sigmoid(x) is exp(x) to the last bit.
SIGMOID_TAIL = -709.0


def _sigmoid(x):
    head = 1.0 / (1.0 + np.exp(-np.maximum(x, SIGMOID_TAIL)))
    return np.where(np.less(x, SIGMOID_TAIL), np.exp(np.minimum(x, SIGMOID_TAIL)), head)[()]


SIGMOID = unary("sigmoid", "σ", _sigmoid,
                lambda g, out, x: (g * out * (1 - out),), "sigmoid(x) = 1 / (1 + exp(-x))")
# softplus(x) = log(1 + exp(x)), the stable form of log(sigmoid) that the simplifier introduces.
SOFTPLUS = unary("softplus", "softplus", lambda x: np.logaddexp(0.0, x),
                 lambda g, out, x: (g * call("sigmoid", x),), "softplus(x) = log(1 + exp(x))")


# The shift of logsumexp and softmax: their max where it is finite, 0 where it is not (as scipy and JAX shift).
FINITE_OR_ZERO = unary("finite_or_zero", "fin",
                       lambda x: np.where(np.isfinite(x), x, 0.0)[()], lambda g, out, x: (g,),
                       "x where it is finite, else 0", public=False)
# NOTE: relu and abs have a kink at 0; their derivative there is taken as 0.
RELU = unary("relu", "relu", lambda x: np.maximum(x, 0.0),
             lambda g, out, x: (g * call("gt", x, 0.0),), "relu(x) = maximum(x, 0)")
ABS = unary("abs", "|x|", np.abs, lambda g, out, x: (g * call("sign", x),), "abs(x)")
SIGN = unary("sign", "sign", np.sign, lambda g, out, x: (None,), "sign(x)", public=False)

# Comparisons give 0/1 masks for the derivatives of max, min and relu; they have no gradient.
COMPARISONS = ("ge", "gt", "le", "lt")
# NOTE: masks are float 0/1, never bool: NumPy refuses `-mask`, and `mask + mask` on bools is a logical or.
_NO_GRAD = lambda g, out, x, y: (None, None)  # noqa: E731


def _mask(compare):
    return lambda x, y: np.where(compare(x, y), 1.0, 0.0)


GE = binary("ge", ">=", _mask(np.greater_equal), _NO_GRAD, "mask x >= y",
            public=False)
GT = binary("gt", ">", _mask(np.greater), _NO_GRAD, "mask x > y", public=False)
LE = binary("le", "<=", _mask(np.less_equal), _NO_GRAD, "mask x <= y",
            public=False)
LT = binary("lt", "<", _mask(np.less), _NO_GRAD, "mask x < y", public=False)

# The same comparisons as bool arrays, written inside the product that applies them: `g * (x > 0.0)` is one
# comparison and one multiply, no 0/1 float array. Only the last lowering pass makes them, as operands of
# `mul`, where no negation or sum can reach them.
IS_GE = binary("is_ge", ">=", lambda x, y: np.greater_equal(x, y), _NO_GRAD, "x >= y, bool",
               public=False)
IS_GT = binary("is_gt", ">", lambda x, y: np.greater(x, y), _NO_GRAD, "x > y, bool", public=False)
IS_LE = binary("is_le", "<=", lambda x, y: np.less_equal(x, y), _NO_GRAD, "x <= y, bool",
               public=False)
IS_LT = binary("is_lt", "<", lambda x, y: np.less(x, y), _NO_GRAD, "x < y, bool", public=False)
