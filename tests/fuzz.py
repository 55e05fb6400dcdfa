"""A differential fuzzer for gradc: random multi-statement programs, compiled and checked.

Each program comes from one integer seed (numpy's Generator, no hypothesis), so a failure is reported as a
seed, the program text, its shapes and sizes, and what disagreed by how much; `python tests/fuzz.py --seed S`
replays it and `--shrink` cuts it down to a small reproducer.

A program is up to `statements` assignments `t1 = ...` over scalars `a b`, vectors `u v w: (n,)` and `p q:
(m,)`, matrices `A B: (n, m)` and `C: (n, n)`, ending in a scalar expression. The grammar is typed by shape
and carries an interval for every subexpression, so it only writes what is defined and well conditioned
at every point it draws (exp of bounded things, log and sqrt of things bounded away from 0, division by
things bounded away from 0). It writes the forms that simplify onto existing nodes often: `2*x - x`,
`(x + y) - y`, `x*1`, `x - 0`, `x + 0*y`, `x/1`, `--x`, `x.T.T`, statements that are such forms of
earlier values, statements used by several later ones, values used both directly and through a statement.
The vocabulary: sin cos tanh sigmoid exp log sqrt softplus relu abs, arctan arcsinh square exp2 log_sigmoid
softsign silu gelu mish, ** 2 3 0.5, maximum minimum,
sum/mean/logsumexp/np.max/np.min with and without axis, x - np.max(x, axis=1, keepdims=True), softmax,
log_softmax, @, dot, .T, transpose, integer indexing; sizes n in 1..4 and m in 1..3.

Checked at up to four random points (inputs uniform in [-1.5, 1.5]; a point within 1e-3 of a kink of
maximum/minimum/relu/abs/amax/amin is redrawn, operands equal to rounding count as one smooth function):
  value    the compiled forward and value_and_grad's value equal the graph interpreter on the parsed graph;
  grad     every gradient equals central differences (step 1e-6*max(1, |x|)), confirmed against
           differences of the interpreter before a mismatch is reported;
  shape    every gradient has its input's shape (and value_and_grad returns exactly the wrt names);
  dtype    a gradient is a Python float (scalar input) or a float64 array;
  alias    no gradient shares memory with an input or another gradient;
  mutates-input, stateful   a call leaves the caller's arrays as they were, and a second call gives the
           same bits;
  bytes    compiling twice gives byte-identical module text (and `make fuzz` compiles one program in ten
           again in processes with another PYTHONHASHSEED: bytes-across-processes);
  compile, exception   a valid program compiles, loads and runs without an exception;
  array-api  the program's array-api module (backend="array-api"), run on array-api-strict arrays at the
           first point that passes, gives the NumPy module's value and gradients (to 1e-9: its einsums and
           gathers may sum in another order); skipped where array-api-strict is not installed;
  hvp      one program in five: its hvp along a random direction equals central differences of its
           gradient along it, and the array-api module's hvp equals the NumPy module's.
A failure also says which graph stage first goes wrong (`simplified`, `final`: the interpreter on those
graphs), which tells a simplifier or differentiation bug from an emission bug.

    python tests/fuzz.py --programs 20000            # in parallel over every core; exit 1 on any failure
    python tests/fuzz.py --seed 1234 --shrink        # replay one seed, print the program, shrink it
    python tests/fuzz.py --no-extrema ...            # without np.max/np.min (gradc before e2806c6)
"""
import argparse
import math
import os
import sys
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

try:
    import gradc  # noqa: F401 - the installed (or PYTHONPATH's) gradc
except ImportError:  # run as a script from a checkout without an install: the gradc beside tests/
    sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gradc import pipeline  # noqa: E402
from gradc.backend.interpret import evaluate  # noqa: E402
from gradc.backend.numpy.emit_derived import derive  # noqa: E402

# ---------------------------------------------------------------------------------------------------------
# The vocabulary: inputs, shapes, templates with interval rules
# ---------------------------------------------------------------------------------------------------------

INPUTS = {"a": (), "b": (), "u": ("n",), "v": ("n",), "w": ("n",), "p": ("m",), "q": ("m",),
          "A": ("n", "m"), "B": ("n", "m"), "C": ("n", "n")}
ALWAYS = ("a", "u", "p", "A")  # every shape can be reached from these: (m, n) = A.T, (n, n) = A @ A.T
SHAPES = [(), ("n",), ("m",), ("n", "m"), ("m", "n"), ("n", "n")]
SHAPE_WEIGHTS = [0.3, 0.25, 0.12, 0.15, 0.06, 0.12]
LIMIT = 1e3  # every subexpression's interval stays inside [-LIMIT, LIMIT]
MAX_TEXT = 400  # characters in one subexpression
CONSTANTS = (0.5, 2.0, 3.0, 1.5, "pi")

ATOM, POW, UNARY, MUL, ADD = 100, 14, 13, 12, 11  # Python's precedence levels, for minimal parentheses


class Invalid(Exception):
    """The template does not apply to these operands (shape, or an interval outside its domain)."""


@dataclass(frozen=True)
class Node:
    """A program tree: a template `kind`, a parameter (a leaf's name, an axis, an index, a constant), operands."""
    kind: str
    param: object = None
    args: tuple = ()


@dataclass
class E:
    """A built subexpression: its text, shape, an interval holding every value, and its precedence."""
    text: str
    shape: tuple
    lo: float
    hi: float
    prec: int = ATOM

    @property
    def mag(self):
        return max(abs(self.lo), abs(self.hi))


def bounded(text, shape, lo, hi, prec=ATOM):
    if not (np.isfinite(lo) and np.isfinite(hi)) or max(abs(lo), abs(hi)) > LIMIT:
        raise Invalid("out of range")
    if len(text) > MAX_TEXT:  # nested cancelling forms repeat their operand: keep the text readable
        raise Invalid("too long")
    return E(text, shape, float(lo), float(hi), prec)


def mul_interval(x, y):
    products = [x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1]]
    return min(products), max(products)


def broadcast(s, t):
    """NumPy broadcasting on symbolic dimensions (no size-1 dims): right-aligned, equal or missing."""
    if len(s) < len(t):
        s, t = t, s
    if s[len(s) - len(t):] != t:
        raise Invalid("shapes do not broadcast")
    return s


def square_interval(x):
    lo = 0.0 if x.lo <= 0 <= x.hi else min(x.lo ** 2, x.hi ** 2)
    return lo, x.mag ** 2


def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


# Elementwise one-operand templates: kind -> (format, interval rule or None if invalid, precedence).
def _unary_table():
    m = math
    return {
        "sin": ("sin({0})", lambda x: (-1.0, 1.0), ATOM),
        "cos": ("cos({0})", lambda x: (-1.0, 1.0), ATOM),
        "np.sin": ("np.sin({0})", lambda x: (-1.0, 1.0), ATOM),
        "tanh": ("tanh({0})", lambda x: (m.tanh(x.lo), m.tanh(x.hi)), ATOM),
        "sigmoid": ("sigmoid({0})", lambda x: (0.0, 1.0), ATOM),
        "exp": ("exp({0})", lambda x: (m.exp(x.lo), m.exp(x.hi)) if x.hi <= 3 else None, ATOM),
        "np.exp": ("np.exp({0})", lambda x: (m.exp(x.lo), m.exp(x.hi)) if x.hi <= 3 else None, ATOM),
        "exp_tanh": ("exp(tanh({0}))", lambda x: (m.exp(-1), m.e), ATOM),
        "exp_neg_sq": ("exp(-{0}**2)", lambda x: (m.exp(-x.mag ** 2), 1.0) if x.prec >= ATOM else None, ATOM),
        "log1p_sq": ("log(1 + {0}**2)", lambda x: (0.0, m.log1p(x.mag ** 2)) if x.prec >= ATOM else None, ATOM),
        "log1p_sq_p": ("log(1 + ({0})**2)", lambda x: (0.0, m.log1p(x.mag ** 2)), ATOM),
        "sqrt_2_sin": ("sqrt(2 + sin({0}))", lambda x: (1.0, m.sqrt(3.0)), ATOM),
        "log_2_cos": ("log(2 + cos({0}))", lambda x: (0.0, m.log(3.0)), ATOM),
        "sqrt_1_sq": ("sqrt(1 + ({0})**2)", lambda x: (1.0, m.sqrt(1 + x.mag ** 2)), ATOM),
        "softplus": ("softplus({0})", lambda x: (softplus(x.lo), softplus(x.hi)) if x.hi <= 30 else None, ATOM),
        "softplus_form": ("log(1 + exp({0}))",
                          lambda x: (softplus(x.lo), softplus(x.hi)) if x.hi <= 5 else None, ATOM),
        "sigmoid_form": ("1 / (1 + exp(-({0})))", lambda x: (0.0, 1.0) if x.lo >= -5 else None, MUL),
        "sq": ("{0:POW+}**2", lambda x: square_interval(x) if x.mag <= 30 else None, POW),
        "cube": ("{0:POW+}**3", lambda x: (x.lo ** 3, x.hi ** 3) if x.mag <= 8 else None, POW),
        "pow_half": ("{0:POW+}**0.5", lambda x: (m.sqrt(x.lo), m.sqrt(x.hi)) if x.lo >= 0.25 else None, POW),
        "pow_sq_half": ("(1 + {0:POW+}**2)**0.5", lambda x: (1.0, m.sqrt(1 + x.mag ** 2)), POW),
        "sqrt": ("sqrt({0})", lambda x: (m.sqrt(x.lo), m.sqrt(x.hi)) if x.lo >= 0.25 else None, ATOM),
        "log": ("log({0})", lambda x: (m.log(x.lo), m.log(x.hi)) if x.lo >= 0.25 else None, ATOM),
        "recip": ("1 / {0:POW}", lambda x: ((1 / x.hi, 1 / x.lo) if x.lo >= 0.5 or x.hi <= -0.5 else None), MUL),
        "neg": ("-{0:UNARY}", lambda x: (-x.hi, -x.lo), UNARY),
        "scale": ("{c}*{0:MUL+}", None, MUL),  # interval by hand: c * x
        "relu": ("relu({0})", lambda x: (max(x.lo, 0.0), max(x.hi, 0.0)), ATOM),
        "abs": ("abs({0})", lambda x: (0.0 if x.lo <= 0 <= x.hi else min(abs(x.lo), abs(x.hi)), x.mag), ATOM),
        # issue 12's smooth functions: monotone ones map the ends; a dip (silu, gelu, mish) adds its minimum
        "arctan": ("arctan({0})", lambda x: (m.atan(x.lo), m.atan(x.hi)), ATOM),
        "arcsinh": ("np.arcsinh({0})", lambda x: (m.asinh(x.lo), m.asinh(x.hi)), ATOM),
        "square": ("square({0})", lambda x: square_interval(x) if x.mag <= 30 else None, ATOM),
        "exp2": ("exp2({0})", lambda x: (2.0 ** x.lo, 2.0 ** x.hi) if x.hi <= 4 else None, ATOM),
        "log_sigmoid": ("log_sigmoid({0})", lambda x: (-softplus(-x.lo), -softplus(-x.hi)) if x.lo >= -30 else None,
                        ATOM),
        "softsign": ("softsign({0})", lambda x: (x.lo / (1 + abs(x.lo)), x.hi / (1 + abs(x.hi))), ATOM),
        "silu": ("silu({0})", lambda x: _dip(lambda v: v / (1 + m.exp(-v)), x, -1.2785, -0.2785) if x.mag <= 30
                 else None, ATOM),
        "gelu": ("gelu({0})", lambda x: _dip(_gelu, x, -0.7522, -0.1700) if x.mag <= 30 else None, ATOM),
        "mish": ("mish({0})", lambda x: _dip(lambda v: v * m.tanh(softplus(v)), x, -1.1924, -0.3089) if x.mag <= 30
                 else None, ATOM),
    }


def _gelu(v):
    return 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))


def _dip(f, x, at, low):
    """The interval of a function falling to its minimum `low` at `at`, then rising: ends, and the dip inside."""
    ends = (f(x.lo), f(x.hi))
    return (low - 1e-3 if x.lo <= at <= x.hi else min(ends)), max(ends)


UNARY_TABLE = _unary_table()
UNARY_WEIGHTS = {"sin": 3, "cos": 3, "np.sin": 1, "tanh": 3, "sigmoid": 2, "exp": 3, "np.exp": 1, "exp_tanh": 1,
                 "exp_neg_sq": 1, "log1p_sq": 2, "log1p_sq_p": 1, "sqrt_2_sin": 1, "log_2_cos": 1, "sqrt_1_sq": 1,
                 "softplus": 1, "softplus_form": 1, "sigmoid_form": 1, "sq": 3, "cube": 1, "pow_half": 1,
                 "pow_sq_half": 1, "sqrt": 1, "log": 1, "recip": 1, "neg": 2, "scale": 3, "relu": 1, "abs": 1,
                 "arctan": 1, "arcsinh": 1, "square": 1, "exp2": 1, "log_sigmoid": 1, "softsign": 1, "silu": 1,
                 "gelu": 1, "mish": 1}
SCALES = (2.0, 0.5, -1.5, 3.0, -1.0)

# Forms that simplify onto one operand: x, or x with another value y that must cancel.
CANCEL_FORMS = {  # kind -> (format over x={0}, y={1}, number of operands)
    "c_2x_x": ("2*{0:MUL+} - {0:ADD+}", 1),
    "c_3x_2x": ("3*{0:MUL+} - 2*{0:MUL+}", 1),
    "c_x2_x": ("{0:MUL}*2 - {0:ADD+}", 1),
    "c_half_xx": ("0.5*({0:ADD} + {0:ADD+})", 1),
    "c_xy_y": ("({0:ADD} + {1:ADD+}) - {1:ADD+}", 2),
    "c_x_y_y": ("{0:ADD} - {1:ADD+} + {1:ADD+}", 2),
    "c_yx_y": ("{1:ADD} + {0:ADD+} - {1:ADD+}", 2),
    "c_x1": ("{0:MUL}*1", 1),
    "c_1x": ("1*{0:MUL+}", 1),
    "c_x1f": ("{0:MUL}*1.0", 1),
    "c_x0": ("{0:ADD} - 0", 1),
    "c_0x": ("0 + {0:ADD+}", 1),
    "c_x0y": ("{0:ADD} + 0*{1:MUL+}", 2),
    "c_xd1": ("{0:MUL}/1", 1),
    "c_negneg": ("--{0:UNARY}", 1),
    "c_negneg_p": ("-(-{0:UNARY})", 1),
    "c_TT": ("{0:ATOM}.T.T", 1),
    "c_xx_x": ("{0:ADD} + {0:ADD+} - {0:ADD+}", 1),
}
CANCEL_WEIGHTS = {"c_2x_x": 8, "c_3x_2x": 2, "c_x2_x": 3, "c_half_xx": 1, "c_xy_y": 4, "c_x_y_y": 1, "c_yx_y": 1,
                  "c_x1": 2, "c_1x": 1, "c_x1f": 1, "c_x0": 2, "c_0x": 1, "c_x0y": 2, "c_xd1": 2, "c_negneg": 2,
                  "c_negneg_p": 1, "c_TT": 1, "c_xx_x": 3}  # collecting like terms (2x - x, ...) most often

BINARY_FORMS = {  # kind -> format
    "add": "{0:ADD} + {1:ADD+}", "sub": "{0:ADD} - {1:ADD+}", "mul": "{0:MUL} * {1:MUL+}",
    "div": "{0:MUL} / {1:MUL+}", "div_safe": "{0:MUL} / (2 + sin({1}))", "div_sq": "{0:MUL} / (1 + {1:POW+}**2)",
    "maximum": "maximum({0}, {1})", "minimum": "minimum({0}, {1})", "np.maximum": "np.maximum({0}, {1})",
}
BINARY_WEIGHTS = {"add": 5, "sub": 4, "mul": 5, "div": 1, "div_safe": 1, "div_sq": 1, "maximum": 1.5,
                  "minimum": 1.5, "np.maximum": 0.3}

KINKS = ("maximum", "minimum", "relu", "abs", "amax", "amin")  # op names whose operands must not tie at the point
EXTREMA = ("np.max", "np.amax", "np.min", "np.amin", "max", "min")  # reductions (max(x) of one array is one too)


def fmt(template, args, **extra):
    """Fill `{i:LEVEL}` slots: operand i, parenthesized unless its precedence is at least LEVEL
    (`LEVEL+`: strictly above, for right operands, so the tree reads back as written)."""
    out, i = [], 0
    while i < len(template):
        if template[i] == "{":
            j = template.index("}", i)
            slot = template[i + 1:j]
            i = j + 1
            name, _, level = slot.partition(":")
            if not name.isdigit():
                out.append(str(extra[name]))
                continue
            e = args[int(name)]
            if not level:
                out.append(e.text)
                continue
            strict = level.endswith("+")
            need = {"ATOM": ATOM, "POW": POW, "UNARY": UNARY, "MUL": MUL, "ADD": ADD}[level.rstrip("+")]
            ok = e.prec > need if strict else e.prec >= need
            out.append(e.text if ok else f"({e.text})")
        else:
            out.append(template[i])
            i += 1
    return "".join(out)


def const_text(c):
    return c if isinstance(c, str) else repr(float(c)) if c != int(c) else str(int(c))


# ---------------------------------------------------------------------------------------------------------
# Building a tree into text, shape and interval
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Context:
    sizes: dict  # dim -> size
    env: dict = field(default_factory=dict)  # statement name -> E (its latest binding)


def build(node, ctx):
    """The E of `node` under the bindings in ctx; raises Invalid where a template does not apply."""
    k, param, args = node.kind, node.param, node.args
    if k == "input":
        return E(param, INPUTS[param], -1.5, 1.5)
    if k == "stmt":
        name, shape = param
        e = ctx.env.get(name)
        if e is None or e.shape != shape:
            raise Invalid(f"no statement {name} of shape {shape}")
        return E(name, shape, e.lo, e.hi)
    if k == "const":
        value = math.pi if param == "pi" else float(param)
        return E(const_text(param), (), value, value)
    xs = [build(a, ctx) for a in args]
    if k in UNARY_TABLE:
        template, rule, prec = UNARY_TABLE[k]
        x = xs[0]
        if k == "scale":
            lo, hi = sorted((param * x.lo, param * x.hi))
            return bounded(fmt(template, xs, c=const_text(param)), x.shape, lo, hi, prec)
        interval = rule(x)
        if interval is None:
            raise Invalid(k)
        return bounded(fmt(template, xs), x.shape, *interval, prec)
    if k in CANCEL_FORMS:
        template, arity = CANCEL_FORMS[k]
        x = xs[0]
        if k == "c_TT" and len(x.shape) != 2:
            raise Invalid("c_TT of a non-matrix")
        if arity == 2 and broadcast(x.shape, xs[1].shape) != x.shape:
            raise Invalid("cancelling operand would broadcast x")
        if arity == 2 and x.mag + xs[1].mag > LIMIT:  # the intermediate x + y must stay in range too
            raise Invalid("out of range")
        prec = {"c_negneg": UNARY, "c_negneg_p": UNARY, "c_TT": ATOM}.get(k)
        if prec is None:
            prec = MUL if k in ("c_x1", "c_1x", "c_x1f", "c_xd1", "c_half_xx") else ADD
        return bounded(fmt(template, xs), x.shape, x.lo, x.hi, prec)
    if k in BINARY_FORMS:
        x, y = xs
        shape = broadcast(x.shape, y.shape)
        if k == "add":
            lo, hi, prec = x.lo + y.lo, x.hi + y.hi, ADD
        elif k == "sub":
            lo, hi, prec = x.lo - y.hi, x.hi - y.lo, ADD
        elif k == "mul":
            (lo, hi), prec = mul_interval((x.lo, x.hi), (y.lo, y.hi)), MUL
        elif k == "div":
            if not (y.lo >= 0.5 or y.hi <= -0.5):
                raise Invalid("division by something near 0")
            (lo, hi), prec = mul_interval((x.lo, x.hi), (1 / y.hi, 1 / y.lo)), MUL
        elif k == "div_safe":
            (lo, hi), prec = mul_interval((x.lo, x.hi), (1 / 3, 1.0)), MUL
        elif k == "div_sq":
            if y.mag > 30:
                raise Invalid("div_sq")
            (lo, hi), prec = mul_interval((x.lo, x.hi), (0.0, 1.0)), MUL
        elif x.text == y.text and k in ("maximum", "np.maximum", "minimum"):
            raise Invalid("a maximum of a value with itself ties everywhere")
        elif k in ("maximum", "np.maximum"):
            lo, hi, prec = max(x.lo, y.lo), max(x.hi, y.hi), ATOM
        else:
            lo, hi, prec = min(x.lo, y.lo), min(x.hi, y.hi), ATOM
        return bounded(fmt(BINARY_FORMS[k], xs), shape, lo, hi, prec)
    return build_structural(k, param, xs, ctx)


def _count(shape, sizes):
    return int(np.prod([sizes[d] for d in shape])) if shape else 1


def build_structural(k, param, xs, ctx):
    """Reductions, products, transposes, indexing, softmax: the templates that change shapes."""
    x = xs[0]
    s, sizes = x.shape, ctx.sizes
    if k in ("sum", "mean", "np.sum", "np.mean", "logsumexp"):
        axis = param
        if axis is None:
            out, count = (), _count(s, sizes)
            call = f"{k}({x.text})"
        else:
            if len(s) != 2:
                raise Invalid("axis on a non-matrix")
            out = (s[1],) if axis in (0, -2) else (s[0],)
            count = sizes[s[0 if axis in (0, -2) else 1]]
            call = f"{k}({x.text}, axis={axis})"
        if k == "logsumexp":
            return bounded(call, out, x.lo, x.hi + math.log(count))
        if k.endswith("sum"):
            return bounded(call, out, count * x.lo, count * x.hi)
        return bounded(call, out, x.lo, x.hi)
    if k in EXTREMA:  # NumPy's reductions: np.max(x), np.max(x, axis=1), np.amin(x, 0), max(u)
        axis, style = param if param is not None else (None, "kw")
        if axis is None:
            out, call = (), f"{k}({x.text})"
        else:
            if len(s) != 2 or k in ("max", "min"):
                raise Invalid("axis on a non-matrix")
            out = (s[1],) if axis in (0, -2) else (s[0],)
            call = f"{k}({x.text}, axis={axis})" if style == "kw" else f"{k}({x.text}, {axis})"
        return bounded(call, out, x.lo, x.hi)
    if k in ("center_max", "center_min"):  # x - np.max(x, axis=1, keepdims=True): the kept axis broadcasts
        name = "np.max" if k == "center_max" else "np.min"
        if param is None:
            if len(s) != 1:
                raise Invalid("center of a non-vector without axis")
            text = fmt("{0:ADD} - " + name + "({0})", xs)
        else:
            if not s or param not in range(-len(s), len(s)):
                raise Invalid("center axis")
            text = fmt("{0:ADD} - " + name + "({0}, axis=" + str(param) + ", keepdims=True)", xs)
        lo, hi = (x.lo - x.hi, 0.0) if k == "center_max" else (0.0, x.hi - x.lo)
        return bounded(text, s, lo, hi, ADD)
    if k in ("softmax", "log_softmax"):
        axis = param
        if axis is None:
            if len(s) != 1:
                raise Invalid("softmax of a non-vector without axis")
            call, count = f"{k}({x.text})", sizes[s[0]]
        else:
            if len(s) != 2:
                raise Invalid("softmax axis")
            call, count = f"{k}({x.text}, axis={axis})", sizes[s[0 if axis == 0 else 1]]
        if k == "softmax":
            return bounded(call, s, 0.0, 1.0)
        return bounded(call, s, x.lo - x.hi - math.log(count), 0.0)
    if k in ("matmul", "dot"):
        y = xs[1]
        if not s or not y.shape:
            raise Invalid("matmul of a scalar")
        inner = s[-1]
        if (y.shape[0] if len(y.shape) == 1 else y.shape[0]) != inner:
            raise Invalid("matmul dims")
        out = s[:-1] + y.shape[1:]
        if out not in SHAPES:
            raise Invalid("matmul gives an unused shape")
        lo, hi = mul_interval((x.lo, x.hi), (y.lo, y.hi))
        n = sizes[inner]
        text = f"dot({x.text}, {y.text})" if k == "dot" else fmt("{0:MUL} @ {1:MUL+}", xs)
        return bounded(text, out, n * lo, n * hi, ATOM if k == "dot" else MUL)
    if k in ("T", "transpose"):
        if len(s) != 2 or (s[1], s[0]) not in SHAPES:
            raise Invalid("transpose")
        text = f"transpose({x.text})" if k == "transpose" else fmt("{0:ATOM}.T", xs)
        return bounded(text, (s[1], s[0]), x.lo, x.hi)
    if k == "index":
        if not s:
            raise Invalid("index of a scalar")
        i = param[0]
        if not -sizes[s[0]] <= i < sizes[s[0]]:
            raise Invalid("index out of range")
        if len(param) == 2:
            if len(s) != 2:
                raise Invalid("two indices")
            j = param[1]
            if not -sizes[s[1]] <= j < sizes[s[1]]:
                raise Invalid("index out of range")
            return bounded(fmt("{0:ATOM}[{i}, {j}]", xs, i=i, j=j), (), x.lo, x.hi)
        return bounded(fmt("{0:ATOM}[{i}]", xs, i=i), s[1:], x.lo, x.hi)
    if k in VOCABULARY:
        return vocabulary(k, param, x, sizes)
    raise Invalid(f"unknown template {k}")


# Issue 12's vocabulary inside the fuzzer's shapes: slices of named dimensions, joins that add their lengths back
# (n - 1 + 1 is n), flips, running sums, triangles and diagonals; each template's interval from its operand's.
VOCABULARY = ("rotate", "restack", "flip", "cumsum", "neighbors", "picks", "trace", "tri", "diag_of", "diag_mat")


def vocabulary(k, param, x, sizes):
    s = x.shape
    if k == "rotate":  # concatenate((x[1:], x[:1])): np.roll(x, -1)
        if len(s) != 1 or sizes[s[0]] < 2:
            raise Invalid("rotate")
        return bounded(fmt("concatenate(({0:ATOM}[1:], {0:ATOM}[:1]))", [x]), s, x.lo, x.hi)
    if k == "restack":  # vstack([X[:1], X[1:]]) is X again
        if len(s) != 2:
            raise Invalid("restack")
        return bounded(fmt("vstack([{0:ATOM}[:1], {0:ATOM}[1:]])", [x]), s, x.lo, x.hi)
    if k == "flip":
        if not s:
            raise Invalid("flip of a scalar")
        text = fmt("{0:ATOM}[::-1]", [x]) if param is None and len(s) == 1 else \
            fmt("flip({0})", [x]) if param is None else fmt("flip({0}, axis=" + str(param) + ")", [x])
        return bounded(text, s, x.lo, x.hi)
    if k == "cumsum":
        if len(s) != 1:
            raise Invalid("cumsum")
        count = sizes[s[0]]
        return bounded(fmt("cumsum({0})", [x]), s, min(x.lo, count * x.lo), max(x.hi, count * x.hi))
    if k == "neighbors":  # sum(x[1:] * x[:-1]): a slice of length n - 1
        if len(s) != 1:
            raise Invalid("neighbors")
        lo, hi = mul_interval((x.lo, x.hi), (x.lo, x.hi))
        count = max(sizes[s[0]] - 1, 0)
        return bounded(fmt("sum({0:ATOM}[1:] * {0:ATOM}[:-1])", [x]), (), min(0.0, count * lo), max(0.0, count * hi))
    if k == "picks":  # sum(x[[0, -1, 0]]), sum(X[:, [-1, 0]]): constant lists, a repeated index adding up
        if len(s) not in (1, 2):
            raise Invalid("picks")
        text, count = ("sum({0:ATOM}[[0, -1, 0]])", 3) if len(s) == 1 else \
            ("sum({0:ATOM}[:, [-1, 0]])", 2 * sizes[s[0]])
        return bounded(fmt(text, [x]), (), min(0.0, count * x.lo), max(0.0, count * x.hi))
    if k == "trace":
        if len(s) != 2 or s[0] != s[1]:
            raise Invalid("trace")
        return bounded(fmt("trace({0})", [x]), (), sizes[s[0]] * x.lo, sizes[s[0]] * x.hi)
    if k == "tri":
        if len(s) != 2 or s[0] != s[1]:
            raise Invalid("tri")
        return bounded(fmt(param + "({0})", [x]), s, min(x.lo, 0.0), max(x.hi, 0.0))
    if k == "diag_of":  # diag(X) of a square matrix: its diagonal
        if len(s) != 2 or s[0] != s[1]:
            raise Invalid("diag_of")
        return bounded(fmt("diag({0})", [x]), s[:1], x.lo, x.hi)
    if len(s) != 1:  # diag_mat: diag(v), a square matrix
        raise Invalid("diag_mat")
    return bounded(fmt("diag({0})", [x]), (s[0], s[0]), min(x.lo, 0.0), max(x.hi, 0.0))


# ---------------------------------------------------------------------------------------------------------
# Programs
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Program:
    seed: int
    sizes: dict
    statements: list  # [(name, Node)]
    output: Node
    wrt: tuple = None  # None: every input
    separator: str = "\n"

    def built(self):
        """(text of each statement, E of the output); raises Invalid if some template no longer applies."""
        ctx = Context(dict(self.sizes))
        lines = []
        for name, node in self.statements:
            e = build(node, ctx)
            ctx.env[name] = e
            lines.append(f"{name} = {e.text}")
        out = build(self.output, ctx)
        if out.shape != ():
            raise Invalid("output is not a scalar")
        return lines, out

    @property
    def text(self):
        lines, out = self.built()
        return self.separator.join(lines + [out.text])

    def used_inputs(self):
        names = set()

        def walk(node):
            if node.kind == "input":
                names.add(node.param)
            for a in node.args:
                walk(a)
        for _, node in self.statements:
            walk(node)
        walk(self.output)
        return [name for name in INPUTS if name in names]

    def effective_wrt(self):
        """`wrt` less the inputs no longer used (after shrinking); None for every input."""
        if self.wrt is None:
            return None
        used = self.used_inputs()
        return tuple(name for name in self.wrt if name in used) or None

    @property
    def shapes(self):
        return {name: INPUTS[name] for name in self.used_inputs() if INPUTS[name]}

    def describe(self):
        shapes = ", ".join(f"{k}: ({', '.join(v)}{',' if len(v) == 1 else ''})" for k, v in self.shapes.items())
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items())
        wrt = "" if self.effective_wrt() is None else f"\nwrt: {', '.join(self.effective_wrt())}"
        return f"seed {self.seed}\nshapes: {shapes or 'all scalar'}; sizes {sizes}{wrt}\n{self.text}"


def operand_shapes(kind, param, s):
    """The shapes of the operands `Generator.structural` draws for an option (kind, param, s)."""
    if kind == "matvec":
        return [s, (s[1],)]
    if kind == "vecmat":
        return [(s[0],), s]
    if kind == "matmul":
        return list(s)
    if kind == "quad":
        return [s, ("n", "n")]
    return [s]


class Generator:
    """Draws a program from a seed: `Generator(seed, statements).program()`."""

    def __init__(self, seed, statements=12, extrema=True):
        self.seed = seed
        self.extrema = extrema  # np.max/np.min reductions (gradc before e2806c6 read np.max(X, 1) elementwise)
        self.rng = np.random.default_rng([seed, 0])
        self.max_statements = statements
        rng = self.rng
        self.sizes = {"n": int(rng.choice([1, 2, 3, 4], p=[0.05, 0.35, 0.35, 0.25])),
                      "m": int(rng.choice([1, 2, 3], p=[0.05, 0.5, 0.45]))}
        extra = [name for name in INPUTS if name not in ALWAYS]
        # Six programs in ten are dense: four inputs, most subexpressions inside cancelling forms, so one value
        # reaches the output along many paths that simplify onto each other; the rest draw on every input.
        # Half the dense ones are focused as well: one array input and a scalar, so every path meets every other.
        mode = rng.random()
        self.dense = mode < 0.6
        self.shapes = SHAPES
        if mode < 0.3:
            focus = self.pick(["u", "u", "A", "p", "C"])
            self.palette = ["a", focus]
            self.shapes = [(), INPUTS[focus]]
        else:
            self.palette = list(ALWAYS) + ([] if self.dense else [name for name in extra if rng.random() < 0.5])
        self.ctx = Context(dict(self.sizes))
        self.statements = []
        self.uses = {}  # statement name -> times referenced
        self.hot = []  # leaves that a statement echoes (t = 2*u - u): later leaves prefer them
        self.p_cancel = float(rng.choice([0.45, 0.6, 0.7] if self.dense else [0.1, 0.25, 0.4]))
        self.p_cancel_statement = float(rng.choice([0.3, 0.45, 0.6] if self.dense else [0.1, 0.2, 0.3]))
        self.p_stmt = float(rng.choice([0.4, 0.6, 0.8]))

    def choice(self, weights):
        keys = list(weights)
        p = np.array([weights[k] for k in keys], dtype=float)
        return keys[int(self.rng.choice(len(keys), p=p / p.sum()))]

    def pick(self, items):
        return items[int(self.rng.integers(len(items)))]

    # Leaves: an input, an earlier statement, a constant, or the shortest way to reach a shape.
    def leaf(self, shape):
        rng = self.rng
        hot = [node for node in self.hot if self.shape_of(node) == shape]
        if hot and rng.random() < 0.35:  # a value some statement echoes: used directly as well
            return self.pick(hot)
        stmts = [name for name, e in self.ctx.env.items() if e.shape == shape]
        if stmts and rng.random() < self.p_stmt:
            unused = [name for name in stmts if not self.uses.get(name)]
            name = self.pick(unused) if unused and rng.random() < 0.6 else self.pick(stmts)
            self.uses[name] = self.uses.get(name, 0) + 1
            return Node("stmt", (name, shape))
        if shape == () and rng.random() < 0.3:
            return Node("const", self.pick(CONSTANTS))
        inputs = [name for name in self.palette if INPUTS[name] == shape]
        if inputs:
            return Node("input", self.pick(inputs))
        if shape == ("m", "n"):
            return Node("T", None, (self.leaf(("n", "m")),))
        if shape == ("n", "n"):
            return Node("matmul", None, (self.leaf(("n", "m")), Node("T", None, (self.leaf(("n", "m")),))))
        raise AssertionError(shape)

    def maybe_cancel(self, node, shape):
        """With probability p_cancel, `node` inside a form that simplifies back to it."""
        if self.rng.random() >= self.p_cancel:
            return node
        for _ in range(4):
            kind = self.choice(CANCEL_WEIGHTS)
            args = (node,) if CANCEL_FORMS[kind][1] == 1 else (node, self.operand_for(shape, node))
            candidate = Node(kind, None, args)
            if self.valid(candidate):
                # sometimes a second form around the first: 2*(x + x - x) - (x + x - x)
                nest = 0.5 if self.dense else 0.25
                return self.maybe_cancel(candidate, shape) if self.rng.random() < nest else candidate
        return node

    def operand_for(self, shape, x=None):
        """A second operand that broadcasts against `shape` without changing it: in dense programs often
        `x` itself or a cancelling form of a leaf, as in (x + (2*x - x)) - (2*x - x)."""
        if self.dense and x is not None and x.kind in ("input", "stmt") and self.rng.random() < 0.3:
            return x
        options = [shape] + [s for s in self.shapes if len(s) < len(shape) and shape[len(shape) - len(s):] == s]
        chosen = self.pick(options)
        y = self.leaf(chosen)
        if self.dense and self.rng.random() < 0.3:
            kind = self.pick(["c_2x_x", "c_xx_x", "c_x2_x"])
            if self.valid(Node(kind, None, (y,))):
                return Node(kind, None, (y,))
        return y

    def shape_of(self, node):
        try:
            return build(node, self.ctx).shape
        except Invalid:  # a statement rebound since
            return None

    def valid(self, node):
        try:
            build(node, self.ctx)
            return True
        except Invalid:
            return False

    def expr(self, shape, depth):
        """A tree of `shape`, at most `depth` templates deep (cancelling forms not counted)."""
        for _ in range(8):
            node = self._expr(shape, depth)
            if node is not None and self.valid(node):
                return self.maybe_cancel(node, shape)
        return self.maybe_cancel(self.leaf(shape), shape)

    def _expr(self, shape, depth):
        rng = self.rng
        if depth <= 0 or rng.random() < 0.25:
            return self.leaf(shape)
        kind = self.choice({"unary": 4, "binary": 4, "structural": 3})
        if kind == "unary":
            k = self.choice(UNARY_WEIGHTS)
            param = self.pick(SCALES) if k == "scale" else None
            x = self.expr(shape, depth - 1)
            if k in ("log", "sqrt", "pow_half", "recip") and not self.valid(Node(k, None, (x,))):
                x = Node(self.pick(["sqrt_2_sin", "exp_tanh", "sqrt_1_sq", "pow_sq_half"]), None, (x,))
            return Node(k, param, (x,))
        if kind == "binary":
            k = self.choice(BINARY_WEIGHTS)
            # operands: both of `shape`, or one of a shape that broadcasts into it
            small = [s for s in self.shapes if len(s) < len(shape) and shape[len(shape) - len(s):] == s]
            left, right = shape, shape
            if small and rng.random() < 0.35:
                if rng.random() < 0.5:
                    left = self.pick(small)
                else:
                    right = self.pick(small)
            return Node(k, None, (self.expr(left, depth - 1), self.expr(right, depth - 1)))
        return self.structural(shape, depth)

    def structural(self, shape, depth):
        """A template that reaches `shape` from operands of other shapes."""
        rng, d = self.rng, depth - 1
        options = []
        if shape == ():
            for s in SHAPES[1:]:
                options += [("sum", None, s), ("mean", None, s), ("logsumexp", None, s), ("extremum", None, s)]
            options += [("np.sum", None, ("n",)), ("np.mean", None, ("n", "m")), ("index", "i", ("n",)),
                        ("index", "i", ("m",)), ("index", "ij", ("n", "m")), ("index", "ij", ("n", "n")),
                        ("dot_vv", None, ("n",)), ("dot_vv", None, ("m",)), ("quad", None, ("n",)),
                        ("lse_softmax", None, ("n",)), ("neighbors", None, ("n",)), ("neighbors", None, ("m",)),
                        ("picks", None, ("n",)), ("picks", None, ("n", "m")),
                        ("trace", None, ("n", "n"))]
        elif len(shape) == 1:
            for s in SHAPES:
                if len(s) == 2:
                    options += [(r, ax, s) for r in ("sum", "mean", "logsumexp", "extremum") for ax in (0, 1, -1)
                                if (s[1] if ax == 0 else s[0]) == shape[0]]
                    if s[1] == shape[0]:
                        options.append(("index", "i", s))
                    if s[0] == shape[0]:
                        options.append(("matvec", None, s))
                    if s[1] == shape[0]:
                        options.append(("vecmat", None, s))
            options += [("softmax", None, shape), ("log_softmax", None, shape),
                        ("center", self.pick([None, 0, -1]), shape), ("rotate", None, shape),
                        ("flip", None, shape), ("cumsum", None, shape), ("diag_of", None, (shape[0], shape[0]))]
        else:
            options += [("softmax", self.pick([0, 1]), shape), ("log_softmax", self.pick([0, 1]), shape),
                        ("center", self.pick([0, 1, -1]), shape),
                        ("T", None, (shape[1], shape[0])), ("transpose", None, (shape[1], shape[0])),
                        ("restack", None, shape), ("flip", self.pick([None, 0, 1]), shape)]
            if shape[0] == shape[1]:
                options += [("tri", self.pick(["tril", "triu"]), shape), ("diag_mat", None, shape[:1])]
            for inner in ("n", "m"):
                left, right = (shape[0], inner), (inner, shape[1])
                if left in SHAPES and right in SHAPES:
                    options.append(("matmul", None, (left, right)))
        options = [o for o in options if all(t in self.shapes for t in operand_shapes(*o))]
        if not self.extrema or rng.random() < 0.6:  # NumPy's max/min reductions, in fewer programs
            options = [o for o in options if o[0] not in ("extremum", "center")]
        if not options:
            return self.leaf(shape)
        k, param, s = options[int(rng.integers(len(options)))]
        if k == "index":
            dims = s if param == "ij" else s[:1]
            idx = tuple(int(rng.integers(-self.sizes[dm], self.sizes[dm])) if rng.random() < 0.2
                        else int(rng.integers(self.sizes[dm])) for dm in dims)
            return Node("index", idx, (self.expr(s, d),))
        if k == "extremum":
            name = self.pick(["np.max", "np.amax", "np.min", "np.amin"] + (["max", "min"] if param is None else []))
            return Node(name, None if param is None else (param, self.pick(["kw", "pos"])), (self.expr(s, d),))
        if k == "center":
            return Node(self.pick(["center_max", "center_min"]), param, (self.expr(s, d),))
        if k == "dot_vv":
            x = self.expr(s, d)
            return Node("dot" if rng.random() < 0.3 else "matmul", None, (x, self.expr(s, d)))
        if k == "quad":  # u @ C @ u
            return Node("matmul", None, (Node("matmul", None, (self.expr(s, d), self.expr(("n", "n"), d))),
                                         self.expr(s, d)))
        if k == "lse_softmax":
            return Node("sum", None, (Node("mul", None, (Node("softmax", None, (self.expr(s, d),)),
                                                          self.expr(s, d))),))
        if k == "matvec":
            return Node("matmul", None, (self.expr(s, d), self.expr((s[1],), d)))
        if k == "vecmat":
            return Node("matmul", None, (self.expr((s[0],), d), self.expr(s, d)))
        if k == "matmul":
            return Node("matmul", None, (self.expr(s[0], d), self.expr(s[1], d)))
        if k in ("softmax", "log_softmax") and len(s) == 1:
            return Node(k, None, (self.expr(s, d),))
        return Node(k, param, (self.expr(s, d),))

    def to_scalar(self, node, shape):
        """A scalar term from a value of any shape."""
        for _ in range(4):
            term = self._to_scalar(node, shape)
            if self.valid(term):
                return term
        return Node("mean", None, (node,)) if shape else node

    def _to_scalar(self, node, shape):
        rng = self.rng
        if shape == ():
            return node if rng.random() < 0.6 else Node(self.pick(["sin", "tanh", "sq", "exp_tanh"]), None, (node,))
        if rng.random() < 0.4:  # an elementwise step before reducing
            inner = Node(self.choice(UNARY_WEIGHTS), None, (node,))
            if inner.kind == "scale":
                inner = Node("scale", self.pick(SCALES), (node,))
            if self.valid(inner):
                node = self.maybe_cancel(inner, shape)
        if rng.random() < 0.15 and len(shape) == 1:
            return Node("matmul", None, (node, self.expr(shape, 1)))
        return Node(self.pick(["sum", "sum", "mean", "logsumexp"]), None, (node,))

    def program(self):
        rng = self.rng
        count = int(rng.integers(1, self.max_statements + 1))
        for i in range(count):
            name = f"t{i + 1}"
            if self.statements and rng.random() < 0.05:  # rebind an earlier name: t3 = t3 * ...
                name = self.pick(self.statements)[0]
            weights = np.array([SHAPE_WEIGHTS[SHAPES.index(t)] for t in self.shapes])
            shape = self.shapes[int(rng.choice(len(self.shapes), p=weights / weights.sum()))]
            if rng.random() < self.p_cancel_statement:  # a statement that simplifies onto an existing value
                node = self.leaf(shape)
                if node.kind in ("input", "stmt") and node not in self.hot:
                    self.hot.append(node)  # later statements prefer it: used both directly and through this one
                kind = self.choice(CANCEL_WEIGHTS)
                args = (node,) if CANCEL_FORMS[kind][1] == 1 else (node, self.operand_for(shape, node))
                node = Node(kind, None, args) if self.valid(Node(kind, None, args)) else self.expr(shape, 2)
            else:
                node = self.expr(shape, int(rng.integers(1, 4)))
            e = build(node, self.ctx)
            self.statements.append((name, node))
            self.ctx.env[name] = e
            self.uses.setdefault(name, 0)
        # The output: each statement not yet used (most recent first, at most 4), and maybe another term.
        unused = [name for name, _ in self.statements if not self.uses.get(name)][::-1]
        terms = []
        for name in unused[:4]:
            e = self.ctx.env[name]
            self.uses[name] = 1
            terms.append(self.to_scalar(Node("stmt", (name, e.shape)), e.shape))
        if not terms or rng.random() < 0.4:
            terms.append(self.expr((), int(rng.integers(1, 4))))
        output = terms[0]
        for term in terms[1:]:
            candidate = Node(self.pick(["add", "add", "sub"]), None, (output, term))
            output = candidate if self.valid(candidate) else output
        wrt = None
        program = Program(self.seed, self.sizes, self.statements, output)
        used = program.used_inputs()
        if used and rng.random() < 0.15:  # differentiate with respect to some of the inputs only
            wrt = tuple(name for name in used if rng.random() < 0.5) or (used[0],)
        program.wrt = wrt
        program.separator = "\n" if rng.random() < 0.7 else "; "
        program.text  # noqa: B018 - raises Invalid if the output went out of range
        return program


def generate(seed, statements=12, extrema=True):
    """The program of `seed` (deterministic)."""
    return Generator(seed, statements, extrema).program()


# ---------------------------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Result:
    seed: int
    status: str  # "ok", "skip" or "fail"
    kind: str = ""  # fail: compile, exception, value, grad, shape, bytes, nonfinite; skip: why
    message: str = ""
    header: str = ""  # the program: seed, shapes, sizes and text
    error: str = ""  # compile, exception: the exception's type
    digest: str = ""  # sha256 of the module text, when it compiled

    def report(self):
        return f"{self.status.upper()} [{self.kind}] {self.header}" + ("\n" + self.message if self.message else "")


def exec_module(text, seed=0):
    """The generated module's namespace, executed from its text (no file, no import machinery)."""
    namespace = {"__name__": f"gradc_fuzz_{seed}"}
    exec(compile(text, f"<gradc fuzz {seed}>", "exec"), namespace)
    return namespace


def draw_point(graph, sizes, rng):
    return {name: rng.uniform(-1.5, 1.5, size=tuple(sizes[d] for d in graph.shape(node)))
            if graph.shape(node) else float(rng.uniform(-1.5, 1.5)) for name, node in graph.inputs.items()}


def kink_gap(graph, values):
    """The smallest distance, relative, of any maximum/minimum/relu/abs/amax/amin to its kink at these values."""
    gap = np.inf
    for node in graph.order():
        op = graph[node]["op"]
        if op not in KINKS:
            continue
        args = [np.asarray(values[a], dtype=float) for a in graph[node]["args"]]
        if op in ("amax", "amin"):  # the two largest (smallest) along the axis must not tie
            axis = graph.attrs(node).get("axis")
            x = args[0].ravel() if axis is None else np.moveaxis(args[0], axis, -1)
            x = np.sort(x if op == "amax" else -x, axis=-1)
            if x.shape[-1] < 2:
                continue
            d, scale = x[..., -1] - x[..., -2], np.maximum(1.0, np.abs(x[..., -1]))
        elif op in ("relu", "abs"):
            d, scale = np.abs(args[0]), 1.0
        else:
            d = np.abs(args[0] - args[1])
            scale = np.maximum(1.0, np.maximum(np.abs(args[0]), np.abs(args[1])))
        gap = min(gap, float(np.min(d / scale, initial=np.inf)))
    return gap


def magnitude(values):
    return max([float(np.max(np.abs(v), initial=0.0)) for v in values.values()
                if isinstance(v, (float, int, np.ndarray, np.floating))] + [1.0])


def central(f, arrays, name, scale=1.0):
    """Central differences of f with respect to arrays[name], step 1e-6 * max(1, |x|) * scale."""
    x = np.array(arrays[name], dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        eps = 1e-6 * max(1.0, abs(float(x[i]))) * scale
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        hi = f({**arrays, name: plus if x.shape else float(plus)})
        lo = f({**arrays, name: minus if x.shape else float(minus)})
        grad[i] = (float(hi) - float(lo)) / (2 * eps)
    return grad


def interpreter(graph):
    out = graph.outputs[0]
    return lambda arrays: evaluate(graph, arrays)[out]


def close(x, y, rtol, atol):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        return False
    return bool(np.all(np.abs(x - y) <= atol + rtol * np.maximum(np.abs(x), np.abs(y))))


def err_summary(got, want):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        return f"shape {got.shape} vs {want.shape}"
    diff = np.abs(got - want)
    rel = diff / np.maximum(1e-300, np.maximum(np.abs(got), np.abs(want)))
    return f"max abs error {float(np.max(diff, initial=0)):.3g}, max rel error {float(np.max(rel, initial=0)):.3g}"


def fmt_array(x):
    return np.array2string(np.asarray(x, dtype=float), precision=6, suppress_small=True, max_line_width=200)


def check(program, determinism=True, points=4):
    """Compile `program` and check it at random points (see the module docstring); a Result."""
    try:
        text, header = program.text, program.describe()
    except Invalid as error:
        return Result(program.seed, "skip", "invalid", str(error), f"seed {program.seed}")
    return check_source(text, program.shapes, program.sizes, program.seed, program.effective_wrt(), determinism,
                        points, header)


DEFAULT_SIZES = {"n": 4, "m": 3}


def check_source(text, shapes=None, sizes=None, seed=0, wrt=None, determinism=True, points=4, header=None,
                 at=None, transform=None):
    """Check the program `text` (any gradc source) as `check` does: compiled value against the interpreter
    on the parsed graph, every gradient against central differences, two compiles byte for byte.

    sizes: dim -> size for the random points; at: a point to check first (input name -> value);
    transform: applied to the module text before it runs (to test the checker on a planted bug).
    """
    shapes = shapes or {}
    sizes = {**DEFAULT_SIZES, **(sizes or {})}
    if header is None:
        declared = ", ".join(f"{k}: {tuple(v)}" for k, v in shapes.items())
        header = f"seed {seed}\nshapes: {declared or 'all scalar'}; sizes {sizes}\n{text}"
    fail = lambda kind, message, error="": Result(seed, "fail", kind, message, header, error)  # noqa: E731
    try:
        stages = pipeline.run(text, wrt, shapes)
    except Exception as error:  # noqa: BLE001 - any exception compiling a valid program is a finding
        return fail("compile", _exception(error), type(error).__name__)
    import hashlib
    digest = hashlib.sha256(stages.source.encode()).hexdigest()
    if not stages.wrt:
        return Result(seed, "skip", "constant", "", header, digest=digest)
    if determinism:
        try:
            again = pipeline.run(text, wrt, shapes).source
        except Exception as error:  # noqa: BLE001
            return fail("compile", "second compile: " + _exception(error), type(error).__name__)
        if again != stages.source:
            import difflib
            diff = "".join(difflib.unified_diff(stages.source.splitlines(True), again.splitlines(True), "first",
                                                "second", n=1))
            return fail("bytes", "compiling twice gave different text:\n" + diff[:3000])
    module_text = transform(stages.source) if transform else stages.source
    try:
        module = exec_module(module_text, seed)
        forward, value_and_grad = module["forward"], module["value_and_grad"]
    except Exception as error:  # noqa: BLE001
        return fail("compile", "loading the module: " + _exception(error), type(error).__name__)

    graph = stages.parsed
    rng = np.random.default_rng([seed, 1])
    noisy = False
    with np.errstate(all="ignore"):
        for attempt in range(points):
            arrays = dict(at) if at is not None and attempt == 0 else draw_point(graph, sizes, rng)
            values = evaluate(graph, arrays)
            want = values[graph.outputs[0]]
            if not np.all(np.isfinite(want)):
                return Result(seed, "skip", "nonfinite", "the interpreter's value is not finite", header)
            gap = kink_gap(graph, values)
            # Operands that agree to rounding agree as functions (a continuous draw ties two different ones
            # with probability 0): the program is smooth there, so it is checked. Near a kink it is not.
            tie = gap < 1e-9
            if 1e-9 <= gap < 1e-3:
                continue
            result = _check_point(stages, forward, value_and_grad, arrays, want, magnitude(values), fail)
            if result is None:
                result = _check_array_api(stages, value_and_grad, arrays, magnitude(values), fail)
            if result is None and seed % HVP_EVERY == 0:
                result = _check_hvp(stages, value_and_grad, arrays, magnitude(values), fail, rng)
            if result == "noisy":
                noisy = True
                continue
            if result is None:
                return Result(seed, "ok", "", "", header, digest=digest)
            if tie:
                result.message += "\n  (a maximum/minimum/relu/abs has equal operands here: identical functions)"
            return result
    return Result(seed, "skip", "noisy" if noisy else "kink", "", header)


def _exception(error):
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return f"{type(error).__name__}: {error}\n" + "".join(lines[-6:])


def _check_point(stages, forward, value_and_grad, arrays, want, scale, fail):
    """None if every check holds at `arrays`, "noisy" if the differences cannot decide, else a failing Result."""
    at = "at " + ", ".join(f"{k}={fmt_array(v)}" for k, v in arrays.items())
    vtol = 1e-9 * scale
    copies = {name: np.array(x, copy=True) for name, x in arrays.items()}
    try:
        got = forward(**arrays)
        value, grads = value_and_grad(**arrays)
        value_again, grads_again = value_and_grad(**arrays)
    except Exception as error:  # noqa: BLE001
        return fail("exception", f"calling the module {at}: {_exception(error)}", type(error).__name__)
    for name, x in arrays.items():
        if not np.array_equal(x, copies[name]):
            return fail("mutates-input", f"a call wrote into the caller's {name}: {fmt_array(copies[name])} became "
                        f"{fmt_array(x)}")
    if not (_same(value, value_again) and isinstance(grads_again, dict) and set(grads_again) == set(grads)
            and all(_same(grads[k], grads_again[k]) for k in grads)):
        return fail("stateful", f"a second call of value_and_grad gave other results {at}")
    for label, x in (("forward", got), ("value_and_grad's value", value)):
        if not np.all(np.isfinite(x)):
            return fail("nonfinite", f"{label} is {x}, the interpreter's {want} {at}")
        if np.shape(x) != () or not close(x, want, 1e-9, vtol):
            stage = _stage_of_value(stages, arrays, want, vtol)
            return fail("value", f"{label} {fmt_array(x)} != interpreter {float(want)!r} "
                        f"({err_summary(x, want)}) {at}\n{stage}")
    if not isinstance(grads, dict) or set(grads) != set(stages.wrt):
        return fail("shape", f"gradients {type(grads).__name__} with keys {list(grads)}; wrt {list(stages.wrt)}")
    f_compiled = lambda a: forward(**a)  # noqa: E731
    f_true = interpreter(stages.parsed)
    for name in stages.wrt:
        g = grads[name]
        if np.shape(g) != np.shape(arrays[name]):
            return fail("shape", f"d/d{name} has shape {np.shape(g)}, its input {np.shape(arrays[name])} {at}")
        if not np.all(np.isfinite(g)):
            return fail("nonfinite", f"d/d{name} = {fmt_array(g)} {at}")
        if np.shape(g) == () and not isinstance(g, float) or np.shape(g) != () and (
                not isinstance(g, np.ndarray) or g.dtype != np.float64):
            return fail("dtype", f"d/d{name} is {type(g).__name__} {getattr(g, 'dtype', '')}: a float or a "
                        "float64 array was expected")
        others = [(f"input {k}", x) for k, x in arrays.items()]
        others += [(f"d/d{k}", x) for k, x in grads.items() if k != name]
        shared = [label for label, x in others if isinstance(x, np.ndarray) and np.shares_memory(g, x)]
        if shared:
            return fail("alias", f"d/d{name} shares memory with {', '.join(shared)} {at}")
        rtol, atol = 1e-5, 3e-8 * scale
        if close(g, central(f_compiled, arrays, name), rtol, atol):
            continue
        # Confirm against the interpreter, with two steps: both must agree with each other and not with g.
        d1 = central(f_true, arrays, name)
        d2 = central(f_true, arrays, name, scale=8.0)
        if not close(d1, d2, rtol, atol * 4):
            return "noisy"
        if close(g, d1, rtol, atol):
            continue  # the compiled forward's differences were noisier than the interpreter's
        stage = _stage_of_grad(stages, arrays, name, d1, rtol, atol)
        return fail("grad", f"d/d{name}: {err_summary(g, d1)} {at}\n  compiled   {fmt_array(g)}\n"
                    f"  numeric    {fmt_array(d1)}\n{stage}")
    return None


def _check_array_api(stages, value_and_grad, arrays, scale, fail):
    """None if the program's array-api module, run on array-api-strict arrays at `arrays`, gives the NumPy
    module's value and gradients (to rounding: its einsum and gathers sum in another order), else a failing
    Result; None also where array-api-strict is not installed."""
    try:
        import array_api_strict as strict
    except ImportError:
        return None
    at = "at " + ", ".join(f"{k}={fmt_array(v)}" for k, v in arrays.items())
    try:
        text = pipeline.EMITTERS["array-api"](stages.final, stages.wrt, stages.command, forward=stages.forward)
        value, grads = exec_module(text)["value_and_grad"](**_on_strict(strict, arrays))
    except Exception as error:  # noqa: BLE001
        return fail("array-api", f"the array-api module on array-api-strict arrays {at}: {_exception(error)}",
                    type(error).__name__)
    want_value, want = value_and_grad(**arrays)
    for label, got, expected in [("value", value, want_value)] + [(f"d/d{k}", grads.get(k), want[k]) for k in want]:
        got = None if got is None else _from_strict(got)
        if got is None or np.shape(got) != np.shape(expected) or not close(got, expected, 1e-9, 1e-11 * scale):
            return fail("array-api", f"{label}: the array-api module gives {fmt_array(got)}, the NumPy module "
                        f"{fmt_array(expected)} {at}")
    return None


HVP_EVERY = 5  # one program in five also checks its hvp (a second compile, forward over reverse mode)


def _check_hvp(stages, value_and_grad, arrays, scale, fail, rng):
    """None if the module's hvp along a random direction equals central differences of its gradient along it
    (and the array-api module's hvp on array-api-strict arrays equals it), "noisy" if two steps of those
    differences disagree, else a failing Result."""
    at = "at " + ", ".join(f"{k}={fmt_array(v)}" for k, v in arrays.items())
    directions = {name: rng.uniform(-1.0, 1.0, np.shape(arrays[name])) if np.ndim(arrays[name])
                  else float(rng.uniform(-1.0, 1.0)) for name in stages.wrt}
    derived = derive(stages.simplified, stages.wrt, ("hvp",))
    try:
        module = exec_module(pipeline.EMITTERS["numpy"](stages.final, stages.wrt, stages.command, derived))
        products = module["hvp"](directions, **arrays)
    except Exception as error:  # noqa: BLE001
        return fail("hvp", f"the module's hvp {at}: {_exception(error)}", type(error).__name__)

    def along(step):
        moved = lambda sign: {k: v + sign * step * directions[k] if k in directions else v  # noqa: E731
                              for k, v in arrays.items()}
        ahead, behind = value_and_grad(**moved(1.0))[1], value_and_grad(**moved(-1.0))[1]
        return {k: (np.asarray(ahead[k]) - np.asarray(behind[k])) / (2 * step) for k in stages.wrt}
    step = 1e-5 * max([1.0] + [float(np.max(np.abs(v))) for v in arrays.values()])
    near, far = along(step), along(4 * step)
    rtol, atol = 1e-5, 1e-7 * scale
    for name in stages.wrt:
        if not close(near[name], far[name], rtol * 10, atol * 10):
            return "noisy"
        if np.shape(products[name]) != np.shape(arrays[name]) or not close(products[name], near[name], rtol, atol):
            return fail("hvp", f"(H v)[{name}]: {err_summary(products[name], near[name])} {at}\n"
                        f"  hvp        {fmt_array(products[name])}\n  numeric    {fmt_array(near[name])}")
    try:
        import array_api_strict as strict
    except ImportError:
        return None
    try:
        text = pipeline.EMITTERS["array-api"](stages.final, stages.wrt, stages.command, derived)
        on_strict = exec_module(text)["hvp"](_on_strict(strict, directions), **_on_strict(strict, arrays))
    except Exception as error:  # noqa: BLE001
        return fail("hvp", f"the array-api module's hvp on array-api-strict arrays {at}: {_exception(error)}",
                    type(error).__name__)
    for name in stages.wrt:
        got = _from_strict(on_strict[name])
        if not close(got, products[name], 1e-9, 1e-11 * scale):
            return fail("hvp", f"(H v)[{name}]: the array-api module gives {fmt_array(got)}, the NumPy module "
                        f"{fmt_array(products[name])} {at}")
    return None


def _on_strict(strict, values):
    """The arrays among `values` as array-api-strict arrays; scalars stay Python floats, as the modules take them."""
    return {name: strict.asarray(v) if np.ndim(v) else v for name, v in values.items()}


def _from_strict(x):
    """An array-api-strict array (or a Python float) as a NumPy array."""
    return np.asarray(x._array if hasattr(x, "_array") else x)


def _same(x, y):
    return np.shape(x) == np.shape(y) and np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)


def _stage_of_value(stages, arrays, want, tol):
    notes = []
    for label, graph in (("simplified", stages.simplified), ("final", stages.final)):
        try:
            v = evaluate(graph, arrays)[graph.outputs[0]]
            notes.append(f"  {label} graph value {float(v)!r}" + ("" if close(v, want, 1e-9, tol) else "  WRONG"))
        except Exception as error:  # noqa: BLE001
            notes.append(f"  {label} graph: {type(error).__name__}: {error}")
    return "\n".join(notes)


def _stage_of_grad(stages, arrays, name, truth, rtol, atol):
    """Whether the final graph (interpreted) already has the wrong gradient, or only the module does."""
    graph = stages.final
    try:
        index = list(stages.wrt).index(name)
        outs = evaluate(graph, arrays)
        g = np.broadcast_to(outs[graph.outputs[1 + index]], np.shape(truth))
        verdict = "right: the emitted module is wrong" if close(g, truth, rtol, atol) else "WRONG already"
        return f"  final graph's d/d{name} (interpreted) {fmt_array(g)}: {verdict}"
    except Exception as error:  # noqa: BLE001
        return f"  final graph's d/d{name}: not interpreted ({type(error).__name__}: {error})"


def run_seed(seed, statements=12, determinism=True, extrema=True):
    try:
        program = generate(seed, statements, extrema)
    except Exception as error:  # noqa: BLE001 - the generator's own bug: report it, do not hide it
        return Result(seed, "fail", "generator", _exception(error), f"seed {seed}", type(error).__name__)
    return check(program, determinism)


# ---------------------------------------------------------------------------------------------------------
# Shrinking: delete statements and subtrees while the program still fails the same way
# ---------------------------------------------------------------------------------------------------------

def _default_leaf(shape, palette=("a", "u", "p", "A")):
    for name in palette:
        if INPUTS[name] == shape:
            return Node("input", name)
    if shape == ("m", "n"):
        return Node("T", None, (Node("input", "A"),))
    return Node("input", "C")


def _subtrees(node, path=()):
    yield path, node
    for i, a in enumerate(node.args):
        yield from _subtrees(a, path + (i,))


def _replace(node, path, new):
    if not path:
        return new
    args = list(node.args)
    args[path[0]] = _replace(args[path[0]], path[1:], new)
    return Node(node.kind, node.param, tuple(args))


def _shape_of(program, node, index):
    """The shape of `node` inside statement `index` (len(statements): the output)."""
    ctx = Context(dict(program.sizes))
    for name, n in program.statements[:index]:
        ctx.env[name] = build(n, ctx)
    return build(node, ctx).shape


def _rename(node, old, new_node):
    if node.kind == "stmt" and node.param[0] == old:
        return new_node(node.param[1])
    if not node.args:
        return node
    return Node(node.kind, node.param, tuple(_rename(a, old, new_node) for a in node.args))


def _candidates(program):
    """Smaller programs, roughly largest cut first."""
    stmts = program.statements
    # 1. drop a statement: its uses become a plain input of the same shape, or its own tree (inlined)
    for i in range(len(stmts) - 1, -1, -1):
        name, node = stmts[i]
        for how in ("leaf", "inline"):
            new_node = (lambda s: _default_leaf(s)) if how == "leaf" else (lambda s, node=node: node)
            rest, live = [], True  # live: later uses of `name` still mean statement i
            for j, (n2, t2) in enumerate(stmts):
                if j == i:
                    continue
                if j > i and live:
                    t2 = _rename(t2, name, new_node)
                    live = n2 != name  # rebound here: later uses mean this statement
                rest.append((n2, t2))
            out = _rename(program.output, name, new_node) if live else program.output
            yield Program(program.seed, program.sizes, rest, out, program.wrt, program.separator)
    # 2. replace a subtree by one of its operands of the same shape, or by a plain input
    trees = [node for _, node in stmts] + [program.output]
    for index, tree in enumerate(trees):
        for path, sub in _subtrees(tree):
            if sub.kind in ("input", "const"):
                continue
            try:
                shape = _shape_of(program, sub, index)
            except Invalid:
                continue
            replacements = list(sub.args) + [_default_leaf(shape)]
            if shape == ():
                replacements.append(Node("const", 2.0))
            for new in replacements:
                new_tree = _replace(tree, path, new)
                yield _with_tree(program, index, new_tree)
    # 3. use fewer distinct inputs
    for old, new in (("b", "a"), ("v", "u"), ("w", "u"), ("q", "p"), ("B", "A")):
        if old in program.used_inputs():
            f = lambda node: _swap_input(node, old, new)  # noqa: E731
            yield Program(program.seed, program.sizes, [(n, f(t)) for n, t in stmts], f(program.output),
                          None if program.wrt is None else tuple(dict.fromkeys(new if w == old else w
                                                                               for w in program.wrt)),
                          program.separator)
    if program.wrt is not None:
        yield Program(program.seed, program.sizes, stmts, program.output, None, program.separator)


def _swap_input(node, old, new):
    if node.kind == "input":
        return Node("input", new) if node.param == old else node
    return Node(node.kind, node.param, tuple(_swap_input(a, old, new) for a in node.args))


def _with_tree(program, index, tree):
    stmts = list(program.statements)
    if index < len(stmts):
        stmts[index] = (stmts[index][0], tree)
        return Program(program.seed, program.sizes, stmts, program.output, program.wrt, program.separator)
    return Program(program.seed, program.sizes, stmts, tree, program.wrt, program.separator)


def _size(program):
    return sum(len(list(_subtrees(t))) for _, t in program.statements) + len(list(_subtrees(program.output)))


def signature(result):
    """What a shrunk program must keep failing with: the kind, and for exceptions the exception's type."""
    if result.kind in ("compile", "exception"):
        return f"{result.kind}:{result.error}"
    return result.kind


def shrink(program, kind, budget=2000, verbose=False):
    """A smaller program that still fails with `kind` (a `signature`; greedy: the first smaller candidate
    that fails the same way is taken, until none does)."""
    best = program
    tried = 0
    improved = True
    while improved and tried < budget:
        improved = False
        for candidate in _candidates(best):
            try:
                candidate.text  # noqa: B018
            except Invalid:
                continue
            if _size(candidate) > _size(best) or (_size(candidate) == _size(best)
                                                  and len(candidate.text) >= len(best.text)):
                continue
            tried += 1
            result = check(candidate, determinism=(kind == "bytes"))
            if result.status == "fail" and signature(result) == kind:
                best = candidate
                improved = True
                if verbose:
                    print(f"  shrunk to {_size(best)} nodes: {best.text!r}", flush=True)
                break
            if tried >= budget:
                break
    return best


# ---------------------------------------------------------------------------------------------------------
# The runner: `make fuzz`
# ---------------------------------------------------------------------------------------------------------

def _work(args):
    seed, (statements, extrema), determinism = args
    result = run_seed(seed, statements, determinism, extrema)
    text = result.report() if result.status == "fail" else ""
    kind = signature(result) if result.status == "fail" else result.kind
    return seed, result.status, kind, text, result.digest


def _digest_work(args):
    """The module text's digest for one seed, compiled in this process (another hash seed than the first)."""
    seed, vocabulary = args
    import hashlib
    program = generate(seed, *vocabulary)
    source = pipeline.run(program.text, program.effective_wrt(), program.shapes).source
    return seed, hashlib.sha256(source.encode()).hexdigest()


def _shrink_work(args):
    seed, vocabulary, kind = args
    small = shrink(generate(seed, *vocabulary), kind)
    return seed, check(small, determinism=True).report()


def _pool(jobs, hash_seed):
    """Worker processes started afresh (spawn) with their own PYTHONHASHSEED: set and dict orders that
    depend on string hashes differ between two pools, which the cross-process bytes check relies on."""
    import multiprocessing
    old = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = str(hash_seed)
    try:
        return multiprocessing.get_context("spawn").Pool(max(1, jobs))
    finally:
        if old is None:
            del os.environ["PYTHONHASHSEED"]
        else:
            os.environ["PYTHONHASHSEED"] = old


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programs", type=int, default=2000, help="how many programs (seeds start, start+1, ...)")
    parser.add_argument("--start", type=int, default=0, help="the first seed")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--statements", type=int, default=12, help="at most this many statements per program")
    parser.add_argument("--no-bytes", action="store_true", help="skip the compile-twice checks (faster)")
    parser.add_argument("--no-extrema", action="store_true",
                        help="leave out np.max/np.min reductions (for a gradc older than e2806c6)")
    parser.add_argument("--seed", type=int, action="append", help="replay this seed (repeatable); prints it")
    parser.add_argument("--shrink", action="store_true", help="shrink each failure shown to a small reproducer")
    parser.add_argument("--show", type=int, default=10, help="print at most this many failures in full")
    args = parser.parse_args(argv)
    vocabulary = (args.statements, not args.no_extrema)

    if args.seed:
        failed = False
        for seed in args.seed:
            result = run_seed(seed, args.statements, not args.no_bytes, not args.no_extrema)
            print(result.report())
            if result.status == "fail":
                failed = True
                if args.shrink:
                    small = shrink(generate(seed, *vocabulary), signature(result), verbose=True)
                    print("\nshrunk:\n" + check(small, determinism=True).report())
        return 1 if failed else 0

    seeds = range(args.start, args.start + args.programs)
    counts = {}
    began = time.time()
    with _pool(args.jobs, 1) as pool:
        work = [(seed, vocabulary, not args.no_bytes) for seed in seeds]
        failures, digests = _collect(pool.imap_unordered(_work, work, chunksize=4), counts, began)
    if not args.no_bytes:  # one program in ten again, in processes with another hash seed
        sample = sorted(seed for seed in digests if seed % 10 == 0)
        with _pool(args.jobs, 2) as pool:
            for seed, digest in pool.imap_unordered(_digest_work, [(seed, vocabulary) for seed in sample],
                                                    chunksize=4):
                if digest != digests[seed]:
                    failures.append((seed, "bytes-across-processes", f"FAIL [bytes-across-processes] seed {seed}: "
                                     "the module text differs between processes with other hash seeds"))
                    counts["ok"] -= 1
                    counts["fail:bytes-across-processes"] = counts.get("fail:bytes-across-processes", 0) + 1
    elapsed = time.time() - began
    failures.sort()
    shown = failures[:args.show]
    shrunk = {}
    if args.shrink and shown:
        with _pool(args.jobs, 1) as pool:
            shrunk = dict(pool.map(_shrink_work, [(seed, vocabulary, kind) for seed, kind, _ in shown],
                                   chunksize=1))
    for seed, kind, text in shown:
        print("\n" + text)
        if seed in shrunk:
            print("-- shrunk:\n" + shrunk[seed])
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    print(f"\n{args.programs} programs in {elapsed:.1f} s ({args.programs / elapsed:.1f}/s, {args.jobs} jobs): "
          f"{summary}")
    by_kind = {}
    for seed, kind, _ in failures:
        by_kind.setdefault(kind, []).append(seed)
    for kind, kind_seeds in sorted(by_kind.items()):
        listed = " ".join(map(str, kind_seeds[:60])) + (" ..." if len(kind_seeds) > 60 else "")
        print(f"failing seeds [{kind}] ({len(kind_seeds)}): {listed}")
    if failures:
        print("replay one with: python tests/fuzz.py --seed SEED --shrink", file=sys.stderr)
    return 1 if failures else 0


def _collect(results, counts, began):
    failures, digests = [], {}
    for done, (seed, status, kind, text, digest) in enumerate(results, 1):
        key = status if status == "ok" else f"{status}:{kind}"
        counts[key] = counts.get(key, 0) + 1
        if status == "fail":
            failures.append((seed, kind, text))
        elif status == "ok" and digest:
            digests[seed] = digest
        if done % 1000 == 0:
            print(f"  {done} programs, {len(failures)} failing, {time.time() - began:.0f} s", file=sys.stderr,
                  flush=True)
    return failures, digests


if __name__ == "__main__":
    sys.exit(main())
