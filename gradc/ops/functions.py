"""NumPy's further elementwise functions: powers and logarithms in other bases, inverse trigonometric and
hyperbolic functions, rounding, clip, and the stable log-sum forms (logaddexp, log_sigmoid, logit)."""
import math

import numpy as np

from gradc import shapes
from gradc.ops.domain import ANY, KINKED, NONZERO, POSITIVE, Domain
from gradc.ops.elementwise import binary, unary
from gradc.ops.formula import Formula, function
from gradc.ops.registry import Op, call, defop, diagonal

LN2 = math.log(2.0)
LN10 = math.log(10.0)
INSIDE_ONE = Domain(-0.9, 0.9, need="|{}| < 1")

SQUARE = unary("square", "x²", np.square, lambda g, out, x: (g * (2 * x),), "square(x) = x * x",
               formula=Formula("square({arguments})", "{0:atom}^{{2}}"), domain=(ANY,))
RECIPROCAL = unary("reciprocal", "1/x", np.reciprocal, lambda g, out, x: (-(g * out * out),), "reciprocal(x) = 1 / x",
                   formula=Formula("reciprocal({arguments})", r"\frac{{1}}{{{0}}}"), domain=(NONZERO,))
# NOTE: cbrt is finite everywhere, but its slope is infinite at 0: the rule holds off 0.
CBRT = unary("cbrt", "∛", np.cbrt, lambda g, out, x: (g / (3 * (out * out)),), "cbrt(x): the real cube root",
             formula=Formula("cbrt({arguments})", r"\sqrt[3]{{{0}}}"), domain=(NONZERO,), defined_everywhere=True)
EXP2 = unary("exp2", "2^x", np.exp2, lambda g, out, x: (g * out * LN2,), "exp2(x) = 2 ** x",
             formula=Formula("exp2({arguments})", "2^{{{0}}}"), domain=(ANY,))
LOG2 = unary("log2", "log2", np.log2, lambda g, out, x: (g / (x * LN2),), "log2(x): base-2 logarithm",
             formula=function("log2", r"\log_2"), domain=(POSITIVE,))
LOG10 = unary("log10", "log10", np.log10, lambda g, out, x: (g / (x * LN10),), "log10(x): base-10 logarithm",
              formula=function("log10", r"\log_{10}"), domain=(POSITIVE,))

ARCSIN = unary("arcsin", "asin", np.arcsin, lambda g, out, x: (g / call("sqrt", 1 - x * x),), "arcsin(x)",
               names=("arcsin", "asin"), formula=function("arcsin", r"\arcsin"), domain=(INSIDE_ONE,))
ARCCOS = unary("arccos", "acos", np.arccos, lambda g, out, x: (-(g / call("sqrt", 1 - x * x)),), "arccos(x)",
               names=("arccos", "acos"), formula=function("arccos", r"\arccos"), domain=(INSIDE_ONE,))
ARCTAN = unary("arctan", "atan", np.arctan, lambda g, out, x: (g / (1 + x * x),), "arctan(x)",
               names=("arctan", "atan"), formula=function("arctan", r"\arctan"), domain=(ANY,), defined_everywhere=True)
ARCSINH = unary("arcsinh", "asinh", np.arcsinh, lambda g, out, x: (g / call("sqrt", x * x + 1),), "arcsinh(x)",
                names=("arcsinh", "asinh"),
                formula=function("arcsinh", r"\operatorname{arsinh}"), domain=(ANY,), defined_everywhere=True)
ARCCOSH = unary("arccosh", "acosh", np.arccosh, lambda g, out, x: (g / call("sqrt", x * x - 1),), "arccosh(x), x >= 1",
                names=("arccosh", "acosh"),
                formula=function("arccosh", r"\operatorname{arcosh}"), domain=(Domain(1.2, 3.0, need="{} > 1"),))
ARCTANH = unary("arctanh", "atanh", np.arctanh, lambda g, out, x: (g / (1 - x * x),), "arctanh(x), |x| < 1",
                names=("arctanh", "atanh"), formula=function("arctanh", r"\operatorname{artanh}"), domain=(INSIDE_ONE,))


def _arctan2_vjp(g, out, y, x):
    radius2 = x * x + y * y
    return g * x / radius2, -(g * y) / radius2


ARCTAN2 = binary("arctan2", "atan2", np.arctan2, _arctan2_vjp, "arctan2(y, x): the angle of the point (x, y)",
                 names=("arctan2", "atan2"), formula=function("arctan2", r"\operatorname{atan2}"),
                 domain=(ANY, Domain(0.3, 2.0, signed=True, need="{} != 0 (the angle jumps across x <= 0, y = 0)")),
                 defined_everywhere=True)
HYPOT = binary("hypot", "hypot", np.hypot, lambda g, out, x, y: (g * x / out, g * y / out),
               "hypot(x, y) = sqrt(x**2 + y**2), without overflow", names=("hypot",),
               formula=function("hypot"), domain=(NONZERO, ANY), defined_everywhere=True)


# logaddexp(x, y) = log(exp(x) + exp(y)): each partial is a sigmoid of the difference, so neither overflows.
LOGADDEXP = binary("logaddexp", "logaddexp", np.logaddexp,
                   lambda g, out, x, y: (g * call("sigmoid", x - y), g * call("sigmoid", y - x)),
                   "logaddexp(x, y) = log(exp(x) + exp(y)), stable", names=("logaddexp",),
                   formula=function("logaddexp"), domain=(ANY, ANY), defined_everywhere=True)
LOGADDEXP2 = binary("logaddexp2", "logaddexp2", np.logaddexp2,
                    lambda g, out, x, y: (g * call("sigmoid", (x - y) * LN2), g * call("sigmoid", (y - x) * LN2)),
                    "logaddexp2(x, y) = log2(2**x + 2**y), stable", names=("logaddexp2",),
                    formula=function("logaddexp2"), domain=(ANY, ANY), defined_everywhere=True)
LOG_SIGMOID = unary("log_sigmoid", "log σ", lambda x: np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x))),
                    lambda g, out, x: (g * call("sigmoid", -x),), "log_sigmoid(x) = -softplus(-x), stable",
                    formula=function("log_sigmoid", r"\log\sigma"), domain=(ANY,), defined_everywhere=True)
LOGIT = unary("logit", "logit", lambda x: np.log(x) - np.log1p(-x), lambda g, out, x: (g / (x * (1 - x)),),
              "logit(x) = log(x / (1 - x)), the inverse of expit", formula=function("logit"),
              domain=(Domain(0.1, 0.9, need="0 < {} < 1"),))


ERF_CLAMP = 6.0  # past 6, erf is +-1 to double precision: erfc(6) = 2.2e-17


def erf_series(x):
    """erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 * 3 * ... * (2n+1)): a series of terms of one sign,
    so nothing cancels (within 3e-15 of math.erf on [-7, 7]); the generated module's `_erf` is this loop."""
    z = np.clip(x, -ERF_CLAMP, ERF_CLAMP)
    z2 = z * z
    term = np.array(z, dtype=float)
    total = term.copy()
    # the terms grow up to n = z^2, then fall at least twice as fast per term from n = 2 z^2 on
    for n in range(1, int(2 * np.fmax.reduce(np.ravel(z2), initial=0.0)) + 40):
        term = term * (2.0 * z2 / (2 * n + 1))
        total = total + term
    return (2 / math.sqrt(math.pi) * np.exp(-z2) * total)[()]


ERF = unary("erf", "erf", erf_series, lambda g, out, x: (g * (2 / math.sqrt(math.pi)) * call("exp", -(x * x)),),
            "erf(x): the error function (scipy.special.erf)", formula=function("erf", r"\operatorname{erf}"),
            domain=(ANY,), defined_everywhere=True)


# Rounding is constant between its jumps: a zero rule (no contribution), true wherever it is differentiable.
_BETWEEN_JUMPS = Domain(0.05, 0.45, need="{} not a whole or half number (where it jumps)")
FLOOR = unary("floor", "⌊x⌋", np.floor, lambda g, out, x: (None,), "floor(x), gradient 0",
              formula=Formula("floor({arguments})", r"\lfloor {0} \rfloor"), domain=(_BETWEEN_JUMPS,),
              defined_everywhere=True)
CEIL = unary("ceil", "⌈x⌉", np.ceil, lambda g, out, x: (None,), "ceil(x), gradient 0",
             formula=Formula("ceil({arguments})", r"\lceil {0} \rceil"), domain=(_BETWEEN_JUMPS,),
             defined_everywhere=True)
# NOTE: np.round(x) with no decimals is rint: halves go to the even neighbour (round(2.5) is 2.0).
ROUND = unary("round", "round", np.rint, lambda g, out, x: (None,), "round(x) or rint(x): halves to even, gradient 0",
              names=("round", "rint", "around"), formula=function("round"), domain=(_BETWEEN_JUMPS,),
              defined_everywhere=True)


def _clip_vjp(g, out, x, low, high):
    # clip is minimum(maximum(x, low), high), as NumPy computes it (so a_min > a_max gives a_max), and
    # its partials are theirs: a tie goes to the first operand. A bound written None is an infinity.
    open_low = low.graph.value_of(low.node) == -math.inf
    held = None if high.graph.value_of(high.node) == math.inf else \
        call("le", x if open_low else call("maximum", x, low), high)
    above = g if open_low else g * call("ge", x, low)
    below = None if open_low else g * call("lt", x, low)
    if held is None:
        return above, below, None
    return above * held, None if below is None else below * held, g * (1 - held)


# NOTE: at a bound the gradient goes to x: clip(x, 0, 1) at x = 0 has slope 1 and the bound's is 0.
# The bound a source writes as None is an infinity (gradc/frontend/parse.py), so nothing clips there.
CLIP = defop(Op(name="clip", arity=3, shape=lambda x, low, high: shapes.broadcast(x, low, high, op="clip"),
                impl=lambda x, low, high: np.minimum(np.maximum(x, low), high), vjp=_clip_vjp,
                jvp=diagonal(_clip_vjp), symbol="clip", elementwise=True, names=("clip",),
                doc="clip(x, a_min, a_max): x held within the bounds (arrays, numbers or None)",
                formula=function("clip"), defined_everywhere=True,
                domain=(Domain(0.3, 2.0, signed=True, need="{} not at a bound (kinks)"), Domain(-0.2, 0.2),
                        Domain(2.2, 3.0))))
