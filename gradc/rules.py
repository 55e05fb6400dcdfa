"""The rewrite rules, by phase; each rule's docstring is its pattern.

Phases: canonicalize (algebra), stabilize (numerically safe forms), lower (composite ops to
primitives, after differentiation). A rule receives the new node's operands as Values and returns
its replacement, or None; `simplify.rewriter` applies them.
"""
import numpy as np

from gradc.ops import REGISTRY, Value, call
from gradc.ops.linalg import matmul_shape
from gradc.ops.reduce import sum_to_axes
from gradc.shapes import broadcast, normalize_axes, reduce

RULES = {}  # op name -> [(phase, rule)], in definition order


def rule(op, phase="canonicalize"):
    def register(function):
        RULES.setdefault(op, []).append((phase, function))
        return function
    return register


# helpers
def value(x):
    """The constant `x` holds, or None."""
    return x.graph.value_of(x.node)


def is_const(x, number):
    return value(x) == number


def is_zero(x):
    return value(x) == 0 or x.graph[x.node]["op"] == "zeros"


def op_of(x):
    return x.graph[x.node]["op"]


def arg(x, i=0):
    return Value(x.graph, x.graph.args(x.node)[i])


def attrs_of(x):
    return x.graph.attrs(x.node)


def zeros(like, shape):
    return Value(like.graph, like.graph.add("zeros", shape=shape))


def const(like, number):
    return Value(like.graph, like.graph.const(number))


# canonicalize: constant folding
def _fold(*args, op_name, **attrs):
    numbers = [value(a) for a in args]
    if args and all(n is not None for n in numbers):
        with np.errstate(all="ignore"):
            result = REGISTRY[op_name].impl(*numbers, **attrs)
        return const(args[0], float(result))
    return None


for _name, _op in REGISTRY.items():
    if _op.elementwise:
        rule(_name)(lambda *args, _n=_name, **attrs: _fold(*args, op_name=_n, **attrs))


@rule("accumulate")
def accumulate_zero(*partials):
    """accumulate(a, 0, b) -> accumulate(a, b);  accumulate(a) -> a"""
    kept = [p for p in partials if not is_zero(p)]
    if len(kept) == len(partials):
        return None
    if not kept:
        return zeros(partials[0], broadcast(*(p.shape for p in partials)))
    return kept[0] if len(kept) == 1 else call("accumulate", *kept)


@rule("add")
def add_zero(x, y):
    """x + 0 -> x;  0 + y -> y"""
    if is_zero(y):
        return x
    if is_zero(x):
        return y
    return None


@rule("add")
def add_same(x, y):
    """x + x -> 2 * x"""
    return 2.0 * x if x.node == y.node else None


@rule("add")
def add_neg(x, y):
    """x + -y -> x - y;  -x + y -> y - x"""
    if op_of(y) == "neg":
        return x - arg(y)
    if op_of(x) == "neg":
        return y - arg(x)
    return None


@rule("sub")
def sub_zero(x, y):
    """x - 0 -> x;  0 - y -> -y"""
    if is_zero(y):
        return x
    if is_zero(x):
        return -y
    return None


@rule("sub")
def sub_self(x, y):
    """x - x -> 0"""
    return zeros(x, x.shape) if x.node == y.node else None


@rule("sub")
def sub_neg(x, y):
    """x - -y -> x + y"""
    return x + arg(y) if op_of(y) == "neg" else None


@rule("mul")
def mul_one(x, y):
    """1 * y -> y;  x * 1 -> x"""
    if is_const(x, 1):
        return y
    if is_const(y, 1):
        return x
    return None


@rule("mul")
def mul_zero(x, y):
    """0 * y -> 0;  x * 0 -> 0"""
    if is_zero(x) or is_zero(y):
        return zeros(x, broadcast(x.shape, y.shape))
    return None


@rule("mul")
def mul_minus_one(x, y):
    """-1 * y -> -y"""
    if is_const(x, -1):
        return -y
    if is_const(y, -1):
        return -x
    return None


@rule("mul")
def mul_const_first(x, y):
    """x * c -> c * x;  c1 * (c2 * x) -> (c1 * c2) * x"""
    if value(y) is not None and value(x) is None:
        return y * x
    if value(x) is not None and op_of(y) == "mul" and value(arg(y)) is not None:
        return const(x, value(x) * value(arg(y))) * arg(y, 1)
    return None


@rule("mul")
def mul_neg(x, y):
    """-x * -y -> x * y;  -x * y -> -(x * y);  x * -y -> -(x * y)"""
    if op_of(x) == "neg" and op_of(y) == "neg":
        return arg(x) * arg(y)
    if op_of(x) == "neg":
        return -(arg(x) * y)
    if op_of(y) == "neg":
        return -(x * arg(y))
    return None


@rule("mul")
def mul_reciprocal(x, y):
    """x * (1 / y) -> x / y"""
    if op_of(y) == "div" and is_const(arg(y), 1):
        return x / arg(y, 1)
    return None


@rule("div")
def div_one(x, y):
    """x / 1 -> x;  0 / y -> 0"""
    if is_const(y, 1):
        return x
    if is_zero(x):
        return zeros(x, broadcast(x.shape, y.shape))
    return None


@rule("div")
def div_neg(x, y):
    """-x / y -> -(x / y)"""
    return -(arg(x) / y) if op_of(x) == "neg" else None


@rule("neg")
def neg_neg(x):
    """--x -> x"""
    return arg(x) if op_of(x) == "neg" else None


@rule("neg")
def neg_sub(x):
    """-(a - b) -> b - a"""
    return arg(x, 1) - arg(x) if op_of(x) == "sub" else None


@rule("neg")
def neg_zero(x):
    """-0 -> 0"""
    return x if is_zero(x) else None


@rule("pow")
def pow_simple(x, y):
    """x ** 1 -> x;  x ** 0.5 -> sqrt(x);  x ** -1 -> 1 / x"""
    exponent = value(y)
    if exponent == 1:
        return x
    if exponent == 0.5:
        return call("sqrt", x)
    if exponent == -1:
        return 1.0 / x
    return None


@rule("log")
def log_exp(x):
    """log(exp(x)) -> x"""
    return arg(x) if op_of(x) == "exp" else None


@rule("exp")
def exp_log(x):
    """exp(log(x)) -> x"""
    return arg(x) if op_of(x) == "log" else None


@rule("sum")
def sum_nothing(x, *, axis, keepdims):
    """sum(x) -> x when x is a scalar;  sum(0) -> 0"""
    if x.shape == ():
        return x
    if is_zero(x):
        return zeros(x, reduce(x.shape, axis, keepdims))
    return None


@rule("mean")
def mean_scalar(x, *, axis, keepdims):
    """mean(x) -> x when x is a scalar"""
    return x if x.shape == () else None


@rule("transpose")
def transpose_simple(x):
    """x.T -> x for a vector or scalar;  x.T.T -> x"""
    if len(x.shape) < 2:
        return x
    return arg(x) if op_of(x) == "transpose" else None


@rule("matmul")
def matmul_zero(a, b):
    """0 @ b -> 0;  a @ 0 -> 0"""
    if is_zero(a) or is_zero(b):
        return zeros(a, matmul_shape(a.shape, b.shape))
    return None


@rule("sum_to")
def sum_to_nothing(x, *, shape):
    """sum_to(x, shape) -> x when there is nothing to sum"""
    lead, kept = sum_to_axes(x.shape, shape)
    return x if not lead and not kept else None


@rule("broadcast_to")
def broadcast_nothing(x, *, shape):
    """broadcast_to(x, shape) -> x when x has that shape"""
    return x if x.shape == tuple(shape) else None


@rule("scatter")
def scatter_zero(g, *, index, shape):
    """scatter(0) -> 0"""
    return zeros(g, shape) if is_zero(g) else None


# stabilize: forms that neither overflow nor lose precision
@rule("div", phase="stabilize")
def sigmoid_form(x, y):
    """1 / (1 + exp(-z)) -> sigmoid(z)"""
    if not is_const(x, 1) or op_of(y) != "add":
        return None
    for one, e in ((arg(y), arg(y, 1)), (arg(y, 1), arg(y))):
        if is_const(one, 1) and op_of(e) == "exp" and op_of(arg(e)) == "neg":
            return call("sigmoid", arg(arg(e)))
    return None


@rule("log", phase="stabilize")
def log_sigmoid(x):
    """log(sigmoid(z)) -> -softplus(-z);  log(1 - sigmoid(z)) -> -softplus(z)"""
    if op_of(x) == "sigmoid":
        return -call("softplus", -arg(x))
    if op_of(x) == "sub" and is_const(arg(x), 1) and op_of(arg(x, 1)) == "sigmoid":
        return -call("softplus", arg(arg(x, 1)))
    return None


@rule("log", phase="stabilize")
def log_softmax_form(x):
    """log(softmax(z)) -> log_softmax(z);  log(sum(exp(z))) -> logsumexp(z)"""
    if op_of(x) == "softmax":
        return call("log_softmax", arg(x), **attrs_of(x))
    if op_of(x) == "sum" and op_of(arg(x)) == "exp" and not attrs_of(x)["keepdims"]:
        return call("logsumexp", arg(arg(x)), axis=attrs_of(x)["axis"])
    return None


# lower: composite ops become primitives shifted by the max, so CSE shares exp(z - max(z)) among them
def _shifted(z, axis):
    peak = call("amax", z, axis=axis, keepdims=axis is not None)
    shifted = z - peak
    return peak, shifted, call("sum", call("exp", shifted), axis=axis, keepdims=axis is not None)


@rule("softmax", phase="lower")
def lower_softmax(z, *, axis):
    """softmax(z) -> e / sum(e), e = exp(z - max(z))"""
    _, shifted, total = _shifted(z, axis)
    return call("exp", shifted) / total


@rule("log_softmax", phase="lower")
def lower_log_softmax(z, *, axis):
    """log_softmax(z) -> (z - max(z)) - log(sum(exp(z - max(z))))"""
    _, shifted, total = _shifted(z, axis)
    return shifted - call("log", total)


@rule("logsumexp", phase="lower")
def lower_logsumexp(z, *, axis):
    """logsumexp(z) -> max(z) + log(sum(exp(z - max(z))))"""
    peak, _, total = _shifted(z, axis)
    result = peak + call("log", total)
    if axis is None:
        return result
    return call("squeeze", result, axis=normalize_axes(z.shape, axis))


# Registered last, after the rules above: the cost-driven rewrites of the lower phase.
from gradc import algebra  # noqa: E402,F401
