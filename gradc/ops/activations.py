"""The `jax.nn` activations a user types: silu/swish, gelu, elu, selu, leaky_relu, relu6, hard_tanh, softsign
and mish, with jax.nn's defaults and meanings."""
import math

import numpy as np

from gradc.ops.domain import ANY, KINKED, Domain
from gradc.ops.elementwise import SIGMOID, unary
from gradc.ops.formula import function
from gradc.ops.functions import erf_series
from gradc.ops.registry import Op, call, defop, diagonal

GELU_C = math.sqrt(2.0 / math.pi)  # gelu's tanh form: 0.5 x (1 + tanh(c (x + 0.044715 x^3)))
GELU_K = 0.044715
SQRT_HALF = math.sqrt(0.5)  # the exact gelu, approximate=False: x Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))
INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
SELU_ALPHA = 1.6732632423543772848170429916717  # jax.nn.selu's constants (Klambauer et al. 2017)
SELU_SCALE = 1.0507009873554804934193349852946


def activation(name, symbol, impl, vjp, doc, keywords=(), **entry):
    """An elementwise op of one operand and keyword attributes (elu's alpha), called `name(x, ...)`; as in
    jax.nn, the attributes may also be given by position (leaky_relu(x, 0.1))."""
    return defop(Op(name=name, arity=1, shape=lambda x, **attrs: x, impl=impl, vjp=vjp, jvp=diagonal(vjp),
                    symbol=symbol, elementwise=True, doc=doc, names=entry.pop("names", (name,)), keywords=keywords,
                    positional=len(keywords), formula=function(name), defined_everywhere=True, **entry))


def _elu(x, alpha):
    # expm1 of min(x, 0): the branch not taken never overflows
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))[()]


def _gelu(x, *, approximate):
    if not approximate:
        return 0.5 * x * (1.0 + erf_series(x * SQRT_HALF))
    return 0.5 * x * (1.0 + np.tanh(GELU_C * (x + GELU_K * x * x * x)))


def _gelu_vjp(g, out, x, *, approximate):
    if not approximate:  # Phi(x) + x phi(x)
        return (g * (0.5 * (1 + call("erf", x * SQRT_HALF)) + x * call("exp", -0.5 * (x * x)) * INV_SQRT_2PI),)
    t = call("tanh", GELU_C * (x + GELU_K * x * x * x))
    return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (GELU_C * (1 + 3 * GELU_K * x * x))),)


def _mish_vjp(g, out, x):
    t = call("tanh", call("softplus", x))
    return (g * (t + x * (1 - t * t) * call("sigmoid", x)),)


def _two_sided_vjp(above, below):
    """The rule of an op with slope `above` over 0 and `below(out, **attrs)` up to it (elu, selu)."""
    return lambda g, out, x, **attrs: (g * (call("gt", x, 0.0) * above + call("le", x, 0.0) * below(out, **attrs)),)


SILU = unary("silu", "silu", lambda x: x * SIGMOID.impl(x),
             lambda g, out, x: (g * call("sigmoid", x) * (1 + x * (1 - call("sigmoid", x))),),
             "silu(x) or swish(x) = x * sigmoid(x)", names=("silu", "swish"), domain=(ANY,), defined_everywhere=True)
# jax.nn.gelu's default is the tanh form; approximate=False is x Phi(x), through gradc's own erf series.
GELU = activation("gelu", "gelu", _gelu, _gelu_vjp, "gelu(x, approximate=True) = 0.5 x (1 + tanh(sqrt(2/pi) (x + "
                  "0.044715 x**3))); approximate=False: 0.5 x (1 + erf(x / sqrt(2)))",
                  keywords=(("approximate", True),), domain=(ANY,))
# NOTE: elu, selu and leaky_relu have a kink at 0 (unless alpha is 1). At 0 elu and selu take the slope below
# and leaky_relu the one above, as jax.nn's where(x > 0, ...) and where(x >= 0, ...) forms do.
ELU = activation("elu", "elu", lambda x, *, alpha: _elu(x, alpha),
                 _two_sided_vjp(1.0, lambda out, *, alpha: out + alpha),
                 "elu(x, alpha=1.0) = x above 0, alpha (exp(x) - 1) below", keywords=(("alpha", 1.0),),
                 domain=(KINKED,))
SELU = unary("selu", "selu", lambda x: SELU_SCALE * _elu(x, SELU_ALPHA),
             _two_sided_vjp(SELU_SCALE, lambda out: out + SELU_SCALE * SELU_ALPHA),
             "selu(x) = 1.0507 elu(x, 1.6733)", domain=(KINKED,), defined_everywhere=True)


def _leaky_vjp(g, out, x, *, negative_slope):
    return (g * (call("ge", x, 0.0) + call("lt", x, 0.0) * negative_slope),)


LEAKY_RELU = activation("leaky_relu", "leaky", lambda x, *, negative_slope: np.where(x >= 0, x, negative_slope * x)[()],
                        _leaky_vjp, "leaky_relu(x, negative_slope=0.01) = x above 0, negative_slope x below",
                        keywords=(("negative_slope", 0.01),), domain=(KINKED,))
RELU6 = unary("relu6", "relu6", lambda x: np.minimum(np.maximum(x, 0.0), 6.0),
              lambda g, out, x: (g * call("gt", x, 0.0) * call("lt", x, 6.0),), "relu6(x) = min(max(x, 0), 6)",
              domain=(KINKED,), defined_everywhere=True)
HARD_TANH = unary("hard_tanh", "htanh", lambda x: np.minimum(np.maximum(x, -1.0), 1.0),
                  lambda g, out, x: (g * call("gt", x, -1.0) * call("lt", x, 1.0),), "hard_tanh(x) = clip(x, -1, 1)",
                  domain=(Domain(-0.9, 0.9, need="|{}| != 1 (kinks at -1 and 1)"),), defined_everywhere=True)
SOFTSIGN = unary("softsign", "softsign", lambda x: x / (1.0 + np.abs(x)),
                 lambda g, out, x: (g / ((1 + call("abs", x)) * (1 + call("abs", x))),), "softsign(x) = x / (1 + |x|)",
                 domain=(ANY,), defined_everywhere=True)
MISH = unary("mish", "mish", lambda x: x * np.tanh(np.logaddexp(0.0, x)), _mish_vjp,
             "mish(x) = x * tanh(softplus(x))", domain=(ANY,), defined_everywhere=True)
