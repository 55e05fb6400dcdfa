"""The rewrite rules, by phase; each rule's docstring is its pattern.

Phases: canonicalize (algebra), stabilize (numerically safe forms), lower (composite ops to
primitives, after differentiation), share (one factorization for several uses). A rule receives the
new node's operands as Values and returns its replacement, or None; `simplify.rewriter` applies them.
"""
import math
import sys

import numpy as np

from gradc.ops import REGISTRY, Value, call
from gradc.ops.contractions import contract, join_spec, matmul_shape, split_spec, tensordot_spec
from gradc.ops.reduce import count, squeezed_axes, sum_to_axes
from gradc.shapes import broadcast, inserted_axes, normalize_axes, permutation, reduce, reshaped

class RuleTable(dict):
    """op name -> [(phase, rule)], in definition order; a backend keeps its own table of cost rules."""

    def rule(self, op, phase="canonicalize"):
        def register(function):
            self.setdefault(op, []).append((phase, function))
            return function
        return register


RULES = RuleTable()  # the math: rules that hold whatever the backend
rule = RULES.rule


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


# What a rewrite may change. It never changes a value a finite input gives, inside the domain or outside it:
# where the source computes nan (log(-1), 0/0) the rewritten graph does too, which is why a rewrite may drop
# a value (0 * f -> 0, f - f -> 0) only where f is defined everywhere. Two things it may change: rounding,
# and a result that the source loses to an intermediate overflow, which it may give exactly instead
# (log(exp(1000)) is 1000, where the source gives inf). Signed zeros are not kept (x + 0 -> x at x = -0.0).
_LOOK = 64  # nodes defined_everywhere reads before it gives up (and says no)


def defined_everywhere(x):
    """Whether x is a real number at every real input: no log or sqrt of a negative, no division by 0.

    A conservative walk down x's operands: ops whose entry says defined_everywhere, finite constants, a division
    by a nonzero constant or by a count (dimensions are taken to be nonzero) and a power with a constant natural
    exponent (or constant positive base) pass.
    """
    graph, stack, seen = x.graph, [x.node], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if len(seen) > _LOOK:
            return False
        operands = list(graph.args(node))
        op = graph[node]["op"]
        if op == "const":
            if not math.isfinite(graph.value_of(node)):
                return False
        elif op in ("div", "pow"):
            first, second = (graph.value_of(a) for a in operands)
            if op == "div" and (second is not None and second != 0 or graph[operands[1]]["op"] == "size"):
                operands = operands[:1]
            elif op == "pow" and second is not None and second >= 0 and float(second).is_integer():
                operands = operands[:1]
            elif op == "pow" and first is not None and first > 0:
                operands = operands[1:]
            else:
                return False
        elif not REGISTRY[op].defined_everywhere:
            return False
        stack.extend(operands)
    return True


# canonicalize: constant folding
def _fold(*args, op_name, **attrs):
    numbers = [value(a) for a in args]
    if args and all(n is not None for n in numbers):
        with np.errstate(all="ignore"):
            result = REGISTRY[op_name].impl(*numbers, **attrs)
        return const(args[0], float(result))
    return None


def _on_scalars(name):
    def on_scalars(*args, **attrs):
        """f(broadcast_to(a, s), broadcast_to(b, s)) -> broadcast_to(f(a, b), s) for scalars a, b (or b a scalar):
        one scalar operation, not an array's, and no array of a count's ints (-n + n) to be written in place"""
        shapes = {tuple(attrs_of(a)["shape"]) for a in args if op_of(a) == "broadcast_to" and arg(a).shape == ()}
        if len(shapes) != 1 or any(a.shape and (op_of(a) != "broadcast_to" or arg(a).shape) for a in args):
            return None
        scalars = [arg(a) if a.shape else a for a in args]
        return call("broadcast_to", call(name, *scalars, **attrs), shape=shapes.pop())
    return on_scalars


for _name, _op in REGISTRY.items():
    if _op.elementwise:
        rule(_name)(lambda *args, _n=_name, **attrs: _fold(*args, op_name=_n, **attrs))
        rule(_name)(_on_scalars(_name))


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
    """x - x -> 0 where x is defined everywhere (log(u) - log(u) is nan at u = -1)"""
    return zeros(x, x.shape) if x.node == y.node and defined_everywhere(x) else None


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
    """0 * y -> 0;  x * 0 -> 0, where the other factor is defined everywhere (0 * log(u) is nan at u = -1)"""
    if is_zero(x) and defined_everywhere(y) or is_zero(y) and defined_everywhere(x):
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
        product = value(x) * value(arg(y))
        exact_zero = product == 0 and 0 in (value(x), value(arg(y)))
        # NOTE: not where the product overflows or underflows: 1e300 * (1e10 * x) is finite at x = 1e-300.
        if exact_zero or math.isfinite(product) and abs(product) >= sys.float_info.min:
            return const(x, product) * arg(y, 1)
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
    """x * (1 / y) -> x / y;  (1 / y) * x -> x / y: one rounding, and no 1 / y to overflow (1 / sigmoid(-710))

    Not (1 / n) * x for a count n, which cannot overflow: collect_terms takes that factor out.
    """
    if op_of(y) == "div" and is_const(arg(y), 1):
        return x / arg(y, 1)
    if op_of(x) == "div" and is_const(arg(x), 1) and op_of(arg(x, 1)) != "size" and value(y) is None:
        return y / arg(x, 1)
    return None


@rule("div")
def div_one(x, y):
    """x / 1 -> x;  0 / c -> 0 for a constant c != 0 (0 / y is nan where y is 0)"""
    if is_const(y, 1):
        return x
    if is_zero(x) and value(y) not in (None, 0) and not math.isnan(value(y)):
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
    """x ** 0 -> 1;  x ** 1 -> x;  x ** 0.5 -> sqrt(x);  x ** -1 -> 1 / x

    NOTE: NumPy gives x ** 0 = 1 for every x, nan and inf included. sqrt(x) differs from x ** 0.5 only at
    -0.0 (-0.0 == 0.0) and at -inf, where it gives nan for the square root of a negative, not inf.
    """
    exponent = value(y)
    if exponent == 0:
        return call("broadcast_to", const(x, 1.0), shape=x.shape) if x.shape else const(x, 1.0)
    if exponent == 1:
        return x
    if exponent == 0.5:
        return call("sqrt", x)
    if exponent == -1:
        return 1.0 / x
    return None


@rule("mul_no_nan")
def mul_no_nan_plain(x, y):
    """mul_no_nan(x, c) -> c * x for a constant c != 0;  mul_no_nan(c, y) -> c * y for a finite constant c;
    mul_no_nan(x, 0) -> 0"""
    if value(y) is not None and value(y) != 0:
        return y * x
    if value(x) is not None and math.isfinite(value(x)):
        return x * y
    return zeros(x, broadcast(x.shape, y.shape)) if is_zero(y) else None


@rule("log")
def log_exp(x):
    """log(exp(x)) -> x: the exact value, where the source loses it to overflow (inf at x = 1000)"""
    return arg(x) if op_of(x) == "exp" else None


# Ops whose value is >= 0 (or nan) wherever it is defined.
NONNEGATIVE = frozenset({"exp", "sqrt", "abs", "relu", "sigmoid", "softplus", "softmax", "size"})


@rule("exp")
def exp_log(x):
    """exp(log(u)) -> u for u >= 0 (exp, sqrt, abs...): below 0 the source is nan"""
    return arg(x) if op_of(x) == "log" and op_of(arg(x)) in NONNEGATIVE else None


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


@rule("prod")
def prod_scalar(x, *, axis, keepdims):
    """prod(x) -> x when x is a scalar"""
    return x if x.shape == () else None


@rule("prod_others")
def prod_others_scalar(x, *, axis):
    """prod_others(x) -> 1 when x is a scalar: the product of no other elements"""
    return const(x, 1.0) if x.shape == () else None


@rule("pow")
def norm_squared(x, y):
    """norm(v)**2 -> v @ v for a vector v (ord None or 2): no square root to square again"""
    if op_of(x) != "norm" or not is_const(y, 2) or arg(x).ndim != 1:
        return None
    attrs = attrs_of(x)
    if attrs["ord"] not in (None, 2) or attrs["keepdims"]:
        return None
    return arg(x) @ arg(x)


@rule("transpose")
def transpose_simple(x, *, axes=None):
    """transpose(x, identity) -> x (x.T of a vector or scalar);  x.T.T -> x;
    transpose(transpose(x, p), q) -> transpose(x, p[q]);  transpose(x, reversed axes) -> x.T"""
    order, composed = permutation(x.shape, axes), op_of(x) == "transpose"
    if composed:
        inner = permutation(arg(x).shape, attrs_of(x).get("axes"))
        x, order = arg(x), tuple(inner[i] for i in order)
    identity = tuple(range(len(order)))
    if order == identity:
        return x
    canonical = None if order == identity[::-1] else order
    if composed or canonical != axes:  # one spelling per permutation, so equal transposes are one node
        return call("transpose", x, axes=canonical)
    return None


@rule("squeeze")
def squeeze_canonical(x, *, axis):
    """squeeze(x) with no axis of length 1 -> x;  squeeze(x, None or -1) -> squeeze(x, the axes as a tuple)"""
    axes = squeezed_axes(x.shape, axis)
    if not axes:
        return x
    return call("squeeze", x, axis=axes) if axes != axis else None


@rule("expand_dims")
def expand_dims_canonical(x, *, axis):
    """expand_dims(x, -1) -> expand_dims(x, (k,)): one spelling per result"""
    axes = inserted_axes(x.ndim, axis)
    return call("expand_dims", x, axis=axes) if axes != axis else None


@rule("reshape")
def reshape_simple(x, *, shape):
    """reshape(x, x.shape) -> x;  reshape(reshape(x, s), t) -> reshape(x, t);  reshape(ravel(x), t) -> reshape(x, t)"""
    if reshaped(x.shape, shape) == x.shape:
        return x
    if op_of(x) in ("reshape", "ravel"):
        return call("reshape", arg(x), shape=shape)
    return None


@rule("ravel")
def ravel_simple(x):
    """ravel(v) -> v for a vector;  ravel(reshape(x, s)) -> ravel(x)"""
    if x.ndim == 1:
        return x
    if op_of(x) == "reshape":
        return call("ravel", arg(x))
    return None


@rule("matmul")
def matmul_zero(a, b):
    """0 @ b -> 0;  a @ 0 -> 0, where the other operand is defined everywhere"""
    if is_zero(a) and defined_everywhere(b) or is_zero(b) and defined_everywhere(a):
        return zeros(a, matmul_shape(a.shape, b.shape))
    return None


def identity_scale(x):
    """The scalar c where x is the identity eye(n, n) (c = 1) or c * eye(n, n) with c a scalar, else None."""
    if op_of(x) == "eye":
        shape, offset = attrs_of(x)["shape"], attrs_of(x).get("k", 0)
        return const(x, 1.0) if shape[0] == shape[1] and offset == 0 else None
    if op_of(x) == "mul":
        for i in (0, 1):
            scale, other = arg(x, i), arg(x, 1 - i)
            if scale.shape == () and defined_everywhere(scale) and identity_scale(other) is not None:
                return scale * identity_scale(other)
    return None


@rule("matmul")
def matmul_identity(a, b):
    """eye(n, n) @ b -> b;  a @ eye(n, n) -> a;  (c * eye) @ b -> c * b, where the other operand is defined
    everywhere (a nan in b would spread through eye's zeros to every element of eye @ b)"""
    for scaled, other in ((a, b), (b, a)):
        scale = identity_scale(scaled)
        if scale is not None and defined_everywhere(other) and other.ndim >= 1:
            return other if is_const(scale, 1.0) else scale * other
    return None


@rule("dot")
def dot_as_product(a, b):
    """dot(a, b) -> a * b where one is a scalar;  dot(a, b) -> a @ b for vectors and matrices"""
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return a @ b if a.ndim <= 2 and b.ndim <= 2 else None


@rule("inner")
def inner_as_product(a, b):
    """inner(a, b) -> a * b where one is a scalar;  inner(a, b) -> a @ b where a has at most two axes and b one"""
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return a @ b if a.ndim <= 2 and b.ndim == 1 else None


@rule("tensordot")
def tensordot_as_einsum(a, b, *, axes):
    """tensordot(a, b, axes) -> einsum(its spec, a, b): then a matrix product where it is one"""
    return contract(tensordot_spec(a.shape, b.shape, axes), a, b)


@rule("einsum")
def einsum_factors(*operands, spec):
    """einsum(',ij->ij', s, X) -> s * X;  einsum('ij,j->i', X, ones(d)) -> einsum('ij->i', X);
    einsum('i,j->ij', x, ones(m)) -> broadcast_to(x[:, None], (n, m)): a scalar factor, and a vector of ones (the
    adjoints of einsum make both)"""
    inputs, output = split_spec(spec)
    for k, (term, x) in enumerate(zip(inputs, operands)):
        rest_terms, rest = inputs[:k] + inputs[k + 1:], operands[:k] + operands[k + 1:]
        if not rest or term and (op_of(x) != "ones" or len(term) != 1):
            continue
        if term == "":
            return x * contract(join_spec(rest_terms, output), *rest)
        if term in "".join(rest_terms):
            return contract(join_spec(rest_terms, output), *rest)
        if term in output:  # the letter is the output's alone: the rest, broadcast along it
            narrow = contract(join_spec(rest_terms, output.replace(term, "")), *rest)
            expanded = call("expand_dims", narrow, axis=(output.index(term),))
            return call("broadcast_to", expanded, shape=tuple(x.shape[0] if c == term else d
                                                              for c, d in zip(output, expanded.shape)))
    return None


def _single_letters(*terms):
    return all(len(set(term)) == len(term) for term in terms)


@rule("einsum")
def einsum_as_matmul(*operands, spec):
    """einsum('ij,jk->ik', a, b) -> a @ b (a.T, b.T where the contracted axis is elsewhere, the operands swapped
    where the output's axes are);  einsum('i,j->ij', a, b) -> outer(a, b)"""
    inputs, output = split_spec(spec)
    if len(operands) != 2 or not _single_letters(*inputs, output) or max(map(len, inputs)) > 2:
        return None
    shared = set(inputs[0]) & set(inputs[1])
    if len(shared) > 1 or shared & set(output) or set(output) != set(inputs[0] + inputs[1]) - shared:
        return None
    contracted = "".join(shared)
    pairs = list(zip(operands, inputs))
    for (a, left), (b, right) in (pairs, pairs[::-1]):
        if left.replace(contracted, "") + right.replace(contracted, "") != output:
            continue
        if not contracted:
            return call("outer", a, b) if len(left) == len(right) == 1 else None
        a = a.T if len(left) == 2 and left[0] == contracted else a
        b = b.T if len(right) == 2 and right[1] == contracted else b
        return a @ b
    return None


@rule("einsum")
def einsum_of_one(*operands, spec):
    """einsum('ij->ji', x) -> x.T;  einsum('ijk->ik', x) -> sum(x, axis=1);  einsum('ij->', x) -> sum(x);
    einsum('ii->', x) -> trace(x);  einsum('ii->i', x) -> diagonal(x)"""
    inputs, output = split_spec(spec)
    if len(operands) != 1:
        return None
    term = inputs[0]
    if len(term) == 2 and term[0] == term[1] and output in ("", term[0]):
        return call("trace" if output == "" else "diagonal", operands[0], **({} if output == "" else {"offset": 0}))
    if not _single_letters(term):
        return None
    if len(term) >= 2 and output == term[::-1]:
        return operands[0].T
    if "".join(c for c in term if c in output) == output and len(output) < len(term):
        axis = tuple(i for i, c in enumerate(term) if c not in output) if output else None
        return call("sum", operands[0], axis=axis, keepdims=False)
    return None


@rule("einsum")
def einsum_in_pairs(*operands, spec):
    """einsum('i,ij,j->', x, A, y) -> einsum('j,j->', einsum('i,ij->j', x, A), y): two operands at a time, first
    the pair sharing a letter whose result has the fewest axes (leftmost on ties)

    NumPy's einsum runs one loop over every letter of every operand unless told to optimize: 'ij,jk,kl->il'
    costs n^4. Pairs cost what their products do, each becomes @ where it is one, and their adjoints are pairs.
    """
    inputs, output = split_spec(spec)
    if len(operands) < 3:
        return None
    best = None
    for i in range(len(inputs)):
        for j in range(i + 1, len(inputs)):
            others = output + "".join(t for k, t in enumerate(inputs) if k not in (i, j))
            kept = "".join(dict.fromkeys(c for c in inputs[i] + inputs[j] if c in others))
            key = (not set(inputs[i]) & set(inputs[j]), len(kept), i, j)
            best = min(best, (key, kept), key=lambda b: b[0]) if best else (key, kept)
    (_, _, i, j), kept = best
    pair = contract(join_spec((inputs[i], inputs[j]), kept), operands[i], operands[j])
    rest = [(t, o) for k, (t, o) in enumerate(zip(inputs, operands)) if k != j]
    rest[i] = (kept, pair)
    return contract(join_spec([t for t, _ in rest], output), *(o for _, o in rest))


@rule("einsum")
def einsum_as_broadcast_product(*operands, spec):
    """einsum('ij,j->ij', a, b) -> a * b;  einsum('i,ij->ij', a, b) -> a[:, None] * b: nothing summed, each
    operand's letters in the output's order"""
    inputs, output = split_spec(spec)
    if len(operands) < 2 or not _single_letters(*inputs, output) or set("".join(inputs)) != set(output):
        return None
    factors = []
    for term, x in zip(inputs, operands):
        positions = [output.index(c) for c in term]
        if positions != sorted(positions):
            return None
        first = positions[0] if positions else len(output)
        missing = tuple(i - first for i in range(first, len(output)) if output[i] not in term)
        factors.append(call("expand_dims", x, axis=missing) if missing else x)
    product = factors[0]
    for factor in factors[1:]:
        product = product * factor
    return product


# NOTE: not a @ inv(X) -> solve(X.T, a): the LU of X.T pivots differently from X's, so at a matrix singular to
# rounding one of them may raise LinAlgError where the other gives infs (tests/test_trust_numerics.py).
@rule("matmul")
def inverse_product(a, b):
    """inv(X) @ b -> solve(X, b) for a vector or matrix b: one LU and its substitutions, not an inverse and a
    product (a singular X raises LinAlgError in both: the same LU, LAPACK's gesv)"""
    return call("solve", arg(a), b) if op_of(a) == "inv" and b.ndim in (1, 2) else None


# share: once, after the lower phase (transform/simplify.py builds each inv(X) before the rest of the graph)
# NOTE: no singular X gets through one form and not the other: inv(X) is LAPACK's gesv on X's own LU, as solve is.
# Not solve(X.T, b) -> inv(X).T @ b: X.T's LU pivots otherwise, and at an X singular to rounding the solve raises
# LinAlgError where inv(X) gives a value (tests/test_trust_numerics.py found one), as inverse_product's note says.
@rule("solve", phase="share")
def solve_by_inverse(a, b):
    """solve(X, b) -> inv(X) @ b where the graph computes inv(X) anyway (the gradient of log|det X|): a product,
    not another LU factorization"""
    inverse = a.graph.find("inv", (a.node,))
    return Value(a.graph, inverse) @ b if inverse is not None else None


@rule("einsum", phase="share")
def row_sums_through_a_computed_product(*operands, spec):
    """einsum('ij,ij->i', P @ B.T, A) -> einsum('ij,ij->i', P, A @ B) where the graph computes A @ B anyway, for
    an input matrix B: sum_j (P B^T)_ij A_ij is sum_k P_ik (A B)_ik, products over B's columns instead of its rows
    (the examples outnumber the features). In attention, A @ V forward makes the softmax adjoint's rowsum(G * A)
    with G = R @ V.T a rowsum over the n x e values, not the n x m scores."""
    if spec != "ij,ij->i" or len(operands) != 2:
        return None
    for product, other in (operands, operands[::-1]):
        if op_of(product) != "matmul" or op_of(arg(product, 1)) != "transpose":
            continue
        first, factor = arg(product), arg(arg(product, 1))
        if first.ndim != 2 or factor.ndim != 2 or op_of(factor) != "input":
            continue
        computed = other.graph.find("matmul", (other.node, factor.node))
        if computed is not None:
            return call("einsum", first, Value(other.graph, computed), spec=spec)
    return None


@rule("trace")
def trace_product(x):
    """trace(A @ B) -> sum(A * B.T) for matrices, without forming the product (the diagonal's own terms);
    trace(outer(a, b)) -> a @ b"""
    if op_of(x) == "matmul" and arg(x).ndim == 2 and arg(x, 1).ndim == 2:
        return call("sum", arg(x) * arg(x, 1).T, axis=None, keepdims=False)
    if op_of(x) == "outer":
        return arg(x) @ arg(x, 1)
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
def softplus_form(x):
    """log(1 + exp(z)) -> softplus(z);  log(exp(z) + 1) -> softplus(z)"""
    if op_of(x) != "add":
        return None
    for one, e in ((arg(x), arg(x, 1)), (arg(x, 1), arg(x))):
        if is_const(one, 1) and op_of(e) == "exp":
            return call("softplus", arg(e))
    return None


@rule("log", phase="stabilize")
def log_of_scaled(x):
    """log(c * s) -> log(c) + log(s);  log(s / c) -> log(s) - log(c), for a constant c > 0 where log(s) has a
    stable form: log(2*sigmoid(z)) is log(2) - softplus(-z), finite where sigmoid(z) underflows to 0"""
    if op_of(x) == "mul":
        scale, s, sign = value(arg(x)), arg(x, 1), 1.0
    elif op_of(x) == "div":
        scale, s, sign = value(arg(x, 1)), arg(x), -1.0
    else:
        return None
    if scale is None or not 0 < scale < math.inf:
        return None
    inner = call("log", s)
    if op_of(inner) == "log" and arg(inner).node == s.node:
        return None  # no stable form: log(c * s) rounds once where log(c) + log(s) rounds twice
    return inner + const(x, sign * math.log(scale))


@rule("log", phase="stabilize")
def log_softmax_form(x):
    """log(softmax(z)) -> log_softmax(z);  log(sum(exp(z))) -> logsumexp(z);
    log(mean(exp(z))) -> logsumexp(z) - log(n), n the number of entries averaged"""
    if op_of(x) == "softmax":
        return call("log_softmax", arg(x), **attrs_of(x))
    if op_of(x) in ("sum", "mean") and op_of(arg(x)) == "exp":
        z, axis = arg(arg(x)), attrs_of(x)["axis"]
        total = call("logsumexp", z, axis=axis, keepdims=attrs_of(x)["keepdims"])
        if op_of(x) == "sum":
            return total
        return total - call("log", count(z, tuple(z.shape[a] for a in normalize_axes(z.shape, axis))))
    return None


# NOTE: log|det X| is no rewrite of log(det(X)) where det X < 0: np.log gives nan there, and so does logdet (an op
# of its own for that reason), while slogdet(X)[1] is finite. At a singular X both give -inf.
@rule("log", phase="stabilize")
def log_det(x):
    """log(det(X)) -> logdet(X), slogdet's log|det X| (nan where det X < 0);  log(abs(det(X))) -> slogdet(X)[1]:
    finite where det over- or underflows"""
    if op_of(x) == "det":
        return call("logdet", arg(x))
    if op_of(x) == "abs" and op_of(arg(x)) == "det":
        return call("logabsdet", arg(arg(x)))
    return None


@rule("div", phase="stabilize")
def softmax_form(x, y):
    """exp(z) / sum(exp(z)) -> softmax(z, axis=None), the sum over every axis: finite where exp overflows"""
    if op_of(x) == "exp" and op_of(y) == "sum" and arg(y).node == x.node and attrs_of(y)["axis"] is None:
        return call("softmax", arg(x), axis=None)
    return None


# lower: composite ops become primitives shifted by the max, so CSE shares exp(z - max(z)) among them
def _shifted(z, axis):
    # NOTE: shifted by 0 where the max is not finite (as scipy and JAX shift): logsumexp of an all -inf row is
    # -inf and of a row holding +inf is +inf, not inf - inf = nan. Their gradients are JAX's: nan where
    # softmax is 0/0 (an all -inf row) or inf/inf (at the +inf), 0 at the finite entries beside a +inf.
    peak = call("finite_or_zero", call("amax", z, axis=axis, keepdims=axis is not None))
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
def lower_logsumexp(z, *, axis, keepdims=False):
    """logsumexp(z) -> max(z) + log(sum(exp(z - max(z))))"""
    peak, _, total = _shifted(z, axis)
    result = peak + call("log", total)
    if axis is None and not keepdims:
        return result
    if axis is None:  # every axis kept: the max and sum over all of them gave a scalar
        return call("expand_dims", result, axis=tuple(range(z.ndim)))
    if keepdims:
        return result
    return call("squeeze", result, axis=normalize_axes(z.shape, axis))

