"""Leaves and broadcasting elementwise operations."""
import numpy as np

from gradc import shapes
from gradc.ops.domain import ANY, KINKED, NONZERO, POSITIVE, Domain
from gradc.ops.formula import ATOM, POWER, PRODUCT, SUM, UNARY, Formula, Piece, function, infix, mask, printed
from gradc.ops.registry import CLOSED, DIVIDES, RAISES, Op, call, defop, diagonal, tangent_sum


def _scalar_shape(**attrs):
    return ()


INPUT = defop(Op(name="input", arity=0, shape=lambda *, var, dims, integer=False: dims, impl=None, inline=True, floats=CLOSED,
                 defined_everywhere=True,
                 formula=printed(lambda p, node, *, var, dims, integer=False: Piece(p.identifier(var), ATOM)),
                 doc="an input array or scalar"))
CONST = defop(Op(name="const", arity=0, shape=_scalar_shape, impl=lambda *, value: value, inline=True, floats=CLOSED,
                 formula=printed(lambda p, node, *, value: Piece(p.number(value), ATOM if value >= 0 else UNARY)),
                 doc="a number"))


# An elementwise op's JVP is its VJP applied to the tangent (`diagonal`): each rule is written once.
def binary(name, symbol, impl, vjp, doc, **entry):
    """An elementwise op of two operands; `entry` holds its further Op fields (a binary needs a formula)."""
    return defop(Op(name=name, arity=2, shape=lambda x, y: shapes.broadcast(x, y, op=name), impl=impl, vjp=vjp,
                    jvp=diagonal(vjp), symbol=symbol, elementwise=True, doc=doc, **entry))


def unary(name, symbol, impl, vjp, doc, **entry):
    """An elementwise op of one operand: by default called `name(x)` in the source and printed so in formulas."""
    entry = {"names": (name,), "formula": function(name), **entry}
    return defop(Op(name=name, arity=1, shape=lambda x: x, impl=impl, vjp=vjp, jvp=diagonal(vjp), symbol=symbol,
                    elementwise=True, doc=doc, **entry))


ADD = binary("add", "+", np.add, lambda g, out, x, y: (g, g), "x + y", operator="+", floats=CLOSED,
             names=("add",), domain=(ANY, ANY), defined_everywhere=True,
             formula=infix("+", "+", SUM, associative=True))
SUB = binary("sub", "-", np.subtract, lambda g, out, x, y: (g, -g), "x - y", operator="-", floats=CLOSED,
             names=("subtract",), domain=(ANY, ANY), defined_everywhere=True,
             formula=infix("-", "-", SUM))


def _mul_latex(p, node, x, y):
    """x ⊙ y for two arrays, x · y where one is a scalar."""
    times = r"\odot" if all(p.is_array(arg) for arg in p.graph.args(node)) else r"\cdot"
    return Piece(f"{p.wrap(x, PRODUCT)} {times} {p.wrap(y, PRODUCT)}", PRODUCT)


MUL = binary("mul", "×", np.multiply, lambda g, out, x, y: (g * y, g * x), "x * y", operator="*", floats=CLOSED,
             names=("multiply",), domain=(ANY, ANY), defined_everywhere=True,
             formula=Formula("{0:product} * {1:product}", _mul_latex, PRODUCT))
DIV = binary("div", "/", np.divide, lambda g, out, x, y: (g / y, -g * out / y), "x / y", operator="/", floats=DIVIDES,
             names=("divide", "true_divide"),
             domain=(ANY, NONZERO),
             formula=Formula("{0:product} / {1:unary}", r"\frac{{{0}}}{{{1}}}", PRODUCT, latex_prec=ATOM))


def _pow_vjp(g, out, x, y):
    # NOTE: a constant exponent gets no log(x) term, so x**2 stays differentiable at x <= 0. With a variable
    # one, each partial is 0 where its factor y or out is 0, whatever the other factor: at x = 0, d/dy x**y
    # is 0 for y > 0 (out is 0), not 0 * log(0) = nan, and d/dx x**y at y = 0 is 0, not 0 * 0**-1 = nan.
    if y.graph.value_of(y.node) is not None:
        return g * y * x ** (y - 1), None
    return g * call("mul_no_nan", x ** (y - 1), y), g * call("mul_no_nan", call("log", x), out)


# NOTE: on Python floats, 1e200 ** 2 raises OverflowError and (-8.0) ** (1/3) is complex; NumPy gives inf and nan.
POW = binary("pow", "**", np.power, _pow_vjp, "x ** y, power(x, y) or float_power(x, y)", operator="**",
             names=("power", "float_power", "pow"), floats=RAISES,
             domain=(Domain(0.5, 2.0, need="{} > 0 (unless the exponent is a whole number)"), Domain(-2.0, 3.0)),
             formula=Formula("{0:atom} ** {1:unary}", "{0:atom}^{{{1}}}", POWER))


# x * y, but 0 where y is 0 even if x is not finite (TensorFlow's multiply_no_nan): the partials of pow.
MUL_NO_NAN = binary("mul_no_nan", "×",
                    lambda x, y: np.where(np.equal(y, 0.0), 0.0, np.multiply(x, y))[()],
                    lambda g, out, x, y: (call("mul_no_nan", g, y), g * x), "x * y, 0 where y is 0",
                    domain=(ANY, NONZERO), defined_everywhere=True,
                    formula=function("mul_no_nan"))

# NOTE: at a tie, maximum routes the whole gradient to its first operand and minimum likewise.
MAXIMUM = binary("maximum", "max", np.maximum,
                 lambda g, out, x, y: (g * call("ge", x, y), g * call("lt", x, y)),
                 "maximum(x, y) or max(x, y): elementwise larger", names=("maximum",), builtin="max",
                 domain=(ANY, ANY), defined_everywhere=True,
                 formula=function("max", r"\max"))
MINIMUM = binary("minimum", "min", np.minimum,
                 lambda g, out, x, y: (g * call("le", x, y), g * call("gt", x, y)),
                 "minimum(x, y) or min(x, y): elementwise smaller", names=("minimum",), builtin="min",
                 domain=(ANY, ANY), defined_everywhere=True,
                 formula=function("min", r"\min"))

# The branch sum: where a value feeds several consumers, its partial adjoints add up here. It is `add`
# under its own name so that it stays visible in generated code and in pictures.
ACCUMULATE = defop(Op(name="accumulate", arity=-1, shape=lambda *xs: shapes.broadcast(*xs, op="accumulate"),
                      impl=lambda *xs: sum(xs[1:], xs[0]),
                      vjp=lambda g, out, *xs: (g,) * len(xs), jvp=lambda t, out, *xs: tangent_sum(*t),
                      symbol="+", elementwise=True, floats=CLOSED, domain=(ANY,), defined_everywhere=True,
                      formula=printed(lambda p, node, *xs: Piece(" + ".join(p.wrap(x, SUM) for x in xs), SUM)),
                      doc="sum of the partial gradients of a value used more than once"))

NEG = unary("neg", "-", np.negative, lambda g, out, x: (-g,), "-x", names=("negative",), operator="-", floats=CLOSED,
            domain=(ANY,), defined_everywhere=True,
            formula=Formula("-{0:unary}", "-{0:unary}", UNARY, terse=True))
EXP = unary("exp", "exp", np.exp, lambda g, out, x: (g * out,), "exp(x)", formula=function("exp", r"\exp"),
            domain=(ANY,), defined_everywhere=True)
LOG = unary("log", "log", np.log, lambda g, out, x: (g / x,), "log(x): natural logarithm", domain=(POSITIVE,),
            formula=function("log", r"\log"))
LOG1P = unary("log1p", "log1p", np.log1p, lambda g, out, x: (g / (1 + x),), "log1p(x) = log(1 + x), exact near 0",
              domain=(Domain(-0.5, 2.0, need="{} > -1"),))
EXPM1 = unary("expm1", "expm1", np.expm1, lambda g, out, x: (g * (out + 1),), "expm1(x) = exp(x) - 1, exact near 0",
              domain=(ANY,))
SQRT = unary("sqrt", "√", np.sqrt, lambda g, out, x: (g / (2 * out),), "sqrt(x)", domain=(POSITIVE,),
             formula=Formula("sqrt({arguments})", r"\sqrt{{{0}}}"))
SIN = unary("sin", "sin", np.sin, lambda g, out, x: (g * call("cos", x),), "sin(x)", formula=function("sin", r"\sin"),
            domain=(ANY,), defined_everywhere=True)
COS = unary("cos", "cos", np.cos, lambda g, out, x: (-(g * call("sin", x)),), "cos(x)",
            formula=function("cos", r"\cos"), domain=(ANY,), defined_everywhere=True)
TAN = unary("tan", "tan", np.tan, lambda g, out, x: (g * (1 + out * out),), "tan(x)", formula=function("tan", r"\tan"),
            domain=(Domain(-1.2, 1.2, need="|{}| < pi/2"),), defined_everywhere=True)
TANH = unary("tanh", "tanh", np.tanh, lambda g, out, x: (g * (1 - out * out),), "tanh(x)",
             formula=function("tanh", r"\tanh"), domain=(ANY,), defined_everywhere=True)
SINH = unary("sinh", "sinh", np.sinh, lambda g, out, x: (g * call("cosh", x),), "sinh(x)",
             formula=function("sinh", r"\sinh"), domain=(ANY,))
COSH = unary("cosh", "cosh", np.cosh, lambda g, out, x: (g * call("sinh", x),), "cosh(x)",
             formula=function("cosh", r"\cosh"), domain=(ANY,))


# Below this, exp(-x) overflows; from here on 1 + exp(x) is 1.0, so sigmoid(x) is exp(x) to the last bit.
SIGMOID_TAIL = -709.0


def _sigmoid(x):
    head = 1.0 / (1.0 + np.exp(-np.maximum(x, SIGMOID_TAIL)))
    return np.where(np.less(x, SIGMOID_TAIL), np.exp(np.minimum(x, SIGMOID_TAIL)), head)[()]


SIGMOID = unary("sigmoid", "σ", _sigmoid,
                lambda g, out, x: (g * out * (1 - out),), "sigmoid(x) or expit(x) = 1 / (1 + exp(-x))",
                names=("sigmoid", "expit"),
                formula=function("sigmoid", r"\sigma"), domain=(Domain(-5.0, 5.0),), defined_everywhere=True)
# softplus(x) = log(1 + exp(x)), the stable form of log(sigmoid) that the simplifier introduces.
SOFTPLUS = unary("softplus", "softplus", lambda x: np.logaddexp(0.0, x),
                 lambda g, out, x: (g * call("sigmoid", x),), "softplus(x) = log(1 + exp(x))",
                 domain=(Domain(-5.0, 5.0),), defined_everywhere=True)


# The shift of logsumexp and softmax: their max where it is finite, 0 where it is not (as scipy and JAX shift).
FINITE_OR_ZERO = unary("finite_or_zero", "fin",
                       lambda x: np.where(np.isfinite(x), x, 0.0)[()], lambda g, out, x: (g,),
                       "x where it is finite, else 0", names=(),
                       domain=(ANY,), defined_everywhere=True)
# NOTE: relu and abs have a kink at 0; their derivative there is taken as 0.
RELU = unary("relu", "relu", lambda x: np.maximum(x, 0.0),
             lambda g, out, x: (g * call("gt", x, 0.0),), "relu(x) = maximum(x, 0)",
             domain=(KINKED,), defined_everywhere=True)
ABS = unary("abs", "|x|", np.abs, lambda g, out, x: (g * call("sign", x),), "abs(x)",
            names=("abs", "absolute", "fabs"), formula=Formula("abs({arguments})", r"\left|{0}\right|"),
            domain=(KINKED,), defined_everywhere=True)
SIGN = unary("sign", "sign", np.sign, lambda g, out, x: (None,), "sign(x): -1, 0 or 1, gradient 0", differentiable=False,
            domain=(KINKED,), defined_everywhere=True)

# Comparisons give 0/1 masks for the derivatives of max, min and relu; they have no gradient.
COMPARISONS = ("ge", "gt", "le", "lt")
# NOTE: masks are float 0/1, never bool: NumPy refuses `-mask`, and `mask + mask` on bools is a logical or.
_NO_GRAD = lambda g, out, x, y: (None, None)  # noqa: E731


def _mask(compare):
    return lambda x, y: np.where(compare(x, y), 1.0, 0.0)


def _comparison(text, latex, **entry):
    return {"differentiable": False, "formula": mask(text, latex), "domain": (ANY, ANY), "defined_everywhere": True,
            **entry}


# In the source: x >= y or greater_equal(x, y), a mask that where, sum and * take (gradc/ops/masks.py).
GE = binary("ge", ">=", _mask(np.greater_equal), _NO_GRAD, "x >= y, greater_equal(x, y): a 0/1 mask",
            **_comparison(">=", r"\ge", operator=">=", names=("greater_equal",)))
GT = binary("gt", ">", _mask(np.greater), _NO_GRAD, "x > y, greater(x, y): a 0/1 mask",
            **_comparison(">", ">", operator=">", names=("greater",)))
LE = binary("le", "<=", _mask(np.less_equal), _NO_GRAD, "x <= y, less_equal(x, y): a 0/1 mask",
            **_comparison("<=", r"\le", operator="<=", names=("less_equal",)))
LT = binary("lt", "<", _mask(np.less), _NO_GRAD, "x < y, less(x, y): a 0/1 mask",
            **_comparison("<", "<", operator="<", names=("less",)))

# The same comparisons as bool arrays, written inside the product that applies them: `g * (x > 0.0)` is one
# comparison and one multiply, no 0/1 float array. Only the last lowering pass makes them, as operands of
# `mul`, where no negation or sum can reach them.
IS_GE = binary("is_ge", ">=", lambda x, y: np.greater_equal(x, y), _NO_GRAD, "x >= y, bool", inline=True,
               **_comparison(">=", r"\ge"))
IS_GT = binary("is_gt", ">", lambda x, y: np.greater(x, y), _NO_GRAD, "x > y, bool", inline=True,
               **_comparison(">", ">"))
IS_LE = binary("is_le", "<=", lambda x, y: np.less_equal(x, y), _NO_GRAD, "x <= y, bool", inline=True,
               **_comparison("<=", r"\le"))
IS_LT = binary("is_lt", "<", lambda x, y: np.less(x, y), _NO_GRAD, "x < y, bool", inline=True,
               **_comparison("<", "<"))
