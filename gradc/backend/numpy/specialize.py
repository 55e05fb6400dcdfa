"""NumPy's cost rules: rewrites that make the generated code cheaper after differentiation (the lower phase).

The biggest: a branch sum is expanded into a sum of products, like terms are collected and a common
factor is taken out, so that the gradient of the mean logistic loss with respect to its logits,
`c*(1 - y)*sigmoid(z) - c*y*sigmoid(-z)`, becomes `c * (sigmoid(z) - y)`.
"""
import math
import sys

from gradc import shapes
from gradc.backend.numpy.ops import T_MATMUL, VDOT
from gradc.ops import Value, call
from gradc.ops.elementwise import COMPARISONS
from gradc.ops.contractions import LETTERS, matmul_shape, split_spec
from gradc.ops.reduce import count, sum_to_axes
from gradc.transform.rules import RuleTable, arg, attrs_of, const, defined_everywhere, op_of, value
from gradc.transform.simplify import lower as lower_with

MAX_TERMS = 12  # expansions growing past this are left alone
MAX_DEPTH = 6  # how far below the sum the expansion looks
# f(-z) in terms of f(z), so that both sides of a loss share one evaluation:
# sigmoid(-z) = 1 - sigmoid(z);  softplus(-z) = softplus(z) - z
MIRRORED = ("sigmoid", "softplus")
SPECIALIZE = RuleTable()
rule = SPECIALIZE.rule


def lower(graph):
    """The math's lowering of composite ops, then NumPy's cost rules: the graph the NumPy backend emits."""
    return lower_with(graph, SPECIALIZE)


@rule("pow", phase="lower")
def square_as_product(x, y):
    """x ** 2 -> x * x"""
    return x * x if value(y) == 2 else None


@rule("mean", phase="lower")
def mean_as_sum(x, *, axis, keepdims):
    """mean(x) -> sum(x) / n: the sum is the one NumPy call, and the sum rules below apply to it"""
    if x.shape == ():
        return None
    reduced = tuple(x.shape[a] for a in shapes.normalize_axes(x.shape, axis))
    return call("sum", x, axis=axis, keepdims=keepdims) / count(x, reduced)


@rule("sum", phase="lower")
def sum_of_products_as_dot(x, *, axis, keepdims):
    """sum(a * b) -> a @ b for vectors, vdot(a, b) for arrays, of one shape: one BLAS pass, no temporary"""
    if op_of(x) != "mul" or axis is not None and len(shapes.normalize_axes(x.shape, axis)) < len(x.shape) \
            or keepdims or not x.shape:
        return None
    a, b = arg(x), arg(x, 1)
    if not a.shape == b.shape == x.shape:
        return None
    return a @ b if len(x.shape) == 1 else call(VDOT.name, a, b)


@rule("sum", phase="lower")
def partial_sum_of_products(x, *, axis, keepdims):
    """sum(a * b, axis=1) -> einsum('ij,ij->i', a, b) for a and b of one shape: no product temporary, about half
    the time (the softmax's adjoint, rowsum(g * p)); kept axes as expand_dims"""
    if op_of(x) != "mul" or axis is None or not x.shape:
        return None
    a, b = arg(x), arg(x, 1)
    summed = shapes.normalize_axes(x.shape, axis)
    if not a.shape == b.shape == x.shape or len(summed) == len(x.shape):
        return None
    letters = LETTERS[8:8 + len(x.shape)]  # ij, ijk: as people write einsum
    kept = "".join(c for i, c in enumerate(letters) if i not in summed)
    total = call("einsum", a, b, spec=f"{letters},{letters}->{kept}")
    return call("expand_dims", total, axis=summed) if keepdims else total


def _partial_product(term):
    """(a, b) where `term` is einsum('ij,ij->i', a, b), a partial sum of a product (partial_sum_of_products)."""
    if op_of(term) != "einsum":
        return None
    (left, right), _ = split_spec(attrs_of(term)["spec"])
    return (arg(term), arg(term, 1)) if left == right and len(term.graph.args(term.node)) == 2 else None


@rule("sum", phase="lower")
def sum_of_partial_sum(x, *, axis, keepdims):
    """sum(sum(a, axis=1)) -> sum(a): one reduction instead of two;  sum(einsum('ij,ij->i', a, b)) -> vdot(a, b)"""
    if axis is not None or keepdims:
        return None
    if op_of(x) == "sum":
        return call("sum", arg(x), axis=None, keepdims=False)
    product = _partial_product(x)
    return call(VDOT.name, *product) if product else None


@rule("sum", phase="lower")
def sum_over_terms(x, *, axis, keepdims):
    """sum(a - b) -> sum(a) - sum(b) when b (or a) sums to a dot or is itself a partial sum

    In softmax cross-entropy, `mean(logsumexp(Z, axis=1) - sum(Y*Z, axis=1))`, the second sum becomes
    `vdot(Y, Z)`; in the logistic loss, `sum(softplus(z) - y*z)` becomes `sum(softplus(z)) - y @ z`: no
    product temporary, and no reduction along a short axis.
    """
    if axis is not None or keepdims or op_of(x) not in ("add", "sub"):
        return None
    a, b = arg(x), arg(x, 1)
    if a.shape != x.shape or b.shape != x.shape or not (_sums_cheaply(a) or _sums_cheaply(b)):
        return None
    total_a = call("sum", a, axis=None, keepdims=False)
    total_b = call("sum", b, axis=None, keepdims=False)
    return total_a + total_b if op_of(x) == "add" else total_a - total_b


def _sums_cheaply(term):
    """A partial sum, or a product of two arrays of its shape (a dot): summing it apart costs no pass."""
    if op_of(term) == "sum" or _partial_product(term):
        return True
    return op_of(term) == "mul" and arg(term).shape == arg(term, 1).shape == term.shape


@rule("matmul", phase="lower")
def scale_after_product(a, b):
    """(c * a) @ b -> c * (a @ b) for a scalar c, where the product is the smaller array

    That is when the product has fewer axes than the scaled operand, or when the scaled operand is on
    the right, contracted over its rows: in `X.T @ (c * G)` the rows are the examples, which outnumber
    the features.
    """
    for scaled, left in ((a, True), (b, False)):
        if op_of(scaled) != "mul" or arg(scaled).shape != ():
            continue
        product_axes = len(a.shape[:-1] + b.shape[1:])
        if product_axes < len(scaled.shape) or not left:
            inner = arg(scaled, 1)
            return arg(scaled) * (inner @ b if left else a @ inner)
    return None


def _scalar_divisor(x):
    """c where x is g / c for a scalar c (the backward pass's division by a constant or a size), else None."""
    return arg(x, 1) if op_of(x) == "div" and arg(x, 1).shape == () and x.ndim == 2 else None


@rule("div", phase="lower")
def scale_before_gram(x, c):
    """(A @ B.T) / c -> (A / c) @ B.T for input matrices A, B and a scalar c: both contracted over their
    columns, so their rows, the examples, make the product, which outnumbers A (attention's Q @ K.T / sqrt(d))"""
    if c.shape != () or op_of(x) != "matmul" or x.ndim != 2:
        return None
    a, b = arg(x), arg(x, 1)
    if op_of(a) != "input" or op_of(b) != "transpose" or op_of(arg(b)) != "input" or arg(b).ndim != 2:
        return None
    return (a / c) @ b


@rule("matmul", phase="lower")
def divide_after_product(a, b):
    """(G / c) @ X -> (G @ X) / c for an input matrix X: contracted over its rows, the examples, the product
    has X's columns and is the smaller;  A.T @ (G / c) -> (A.T @ G) / c likewise"""
    if a.ndim != 2 or b.ndim != 2:
        return None
    if _scalar_divisor(a) is not None and op_of(b) == "input":
        return (arg(a) @ b) / _scalar_divisor(a)
    if _scalar_divisor(b) is not None and op_of(a) == "transpose" and op_of(arg(a)) == "input":
        return (a @ arg(b)) / _scalar_divisor(b)
    return None


@rule("sum", phase="lower")
@rule("sum_to", phase="lower")
def sum_of_equal_entries(x, *, axis=None, keepdims=False, shape=None):
    """sum(broadcast(c), axis) -> c * (number of entries summed), broadcast: no pass over an array of c"""
    if op_of(x) != "broadcast_to" or arg(x).shape != ():
        return None
    if shape is None:  # sum
        axes = shapes.normalize_axes(x.shape, axis)
        result_shape = shapes.reduce(x.shape, axis, keepdims, "sum")
    else:  # sum_to
        lead, kept = sum_to_axes(x.shape, shape)
        axes, result_shape = lead + kept, shape
    total = arg(x) * count(x, tuple(x.shape[a] for a in axes))
    return total if result_shape == () else call("broadcast_to", total, shape=result_shape)


@rule("matmul", phase="lower")
def product_with_constant_matrix(a, b):
    """broadcast(c) @ b -> c * (column sums of b), a @ broadcast(c) -> c * (row sums of a), broadcast

    Such products come from differentiating a sum of a product (`sum(A.T @ B)`): a matrix product with a
    matrix of equal entries is a reduction, one pass instead of a gemm.
    """
    if a.ndim > 2 or b.ndim > 2:
        return None  # a batched product: its sums run within each batch
    shape = matmul_shape(a.shape, b.shape)
    for filled, other, axis in ((a, b, 0), (b, a, -1)):
        if op_of(filled) == "broadcast_to" and arg(filled).shape == ():
            keep = len(other.shape) == 2 and len(shape) == 2
            total = call("sum", other, axis=axis if len(other.shape) == 2 else None, keepdims=keep)
            return call("broadcast_to", arg(filled) * total, shape=shape)
    return None


@rule("matmul", phase="lower")
def transposed_product(a, b):
    """a.T @ b -> t_matmul(a, b) for matrices: one node, which the scaling rules below take apart"""
    if op_of(a) == "transpose" and len(a.shape) == 2 and len(b.shape) == 2 \
            and a.graph.attrs(a.node).get("axes") in (None, (1, 0), (-1, -2)):  # not an identity permutation
        return call(T_MATMUL.name, arg(a), b)
    return None


@rule("transpose", phase="lower")
def transposed_result(x, *, axes=None):
    """(a.T @ b).T -> b.T @ a for matrices, through a scalar factor ((y / c).T -> y.T / c): a gradient that the
    chain rule returns transposed (K's, of Q @ K.T) is computed in its own layout, C-contiguous as K is, with
    the larger matrix the transposed one (G.T @ Q took 0.92x the time of Q.T @ G at 1024 x 1024 by 64 and 0.66x
    at 128, two threads; 0.96x and 0.90x with one)"""
    if len(x.shape) != 2 or axes is not None:  # a matrix's .T (transpose_simple spells it axes=None)
        return None
    if op_of(x) == T_MATMUL.name:
        return call(T_MATMUL.name, arg(x, 1), arg(x))
    if op_of(x) == "div" and arg(x, 1).shape == () and op_of(arg(x)) == T_MATMUL.name:
        return call("transpose", arg(x)) / arg(x, 1)
    return None


@rule("sum", phase="lower")
def scale_after_sum(x, *, axis, keepdims):
    """sum(c * a) -> c * sum(a) for a scalar c"""
    if op_of(x) == "mul" and arg(x).shape == () and x.shape != ():
        return arg(x) * call("sum", arg(x, 1), axis=axis, keepdims=keepdims)
    return None


@rule("sum", phase="lower")
def negate_after_sum(x, *, axis, keepdims):
    """sum(-a) -> -sum(a): the negation moves to the smaller array"""
    return -call("sum", arg(x), axis=axis, keepdims=keepdims) if op_of(x) == "neg" and x.shape != () else None


@rule("sum_to", phase="lower")
def scale_after_sum_to(x, *, shape):
    """sum_to(c * a, shape) -> c * sum_to(a, shape) for a scalar c"""
    if op_of(x) == "mul" and arg(x).shape == () and x.shape != ():
        return arg(x) * call("sum_to", arg(x, 1), shape=shape)
    return None


@rule("mul", phase="lower")
def scale_rows_and_columns(x, y):
    """outer(a, b) * m -> m * a[:, None] * b: two passes over m in place, no outer product materialised"""
    for product, other in ((x, y), (y, x)):
        if op_of(product) == "outer" and other.shape == product.shape:
            a, b = arg(product), arg(product, 1)
            return other * call("expand_dims", a, axis=(1,)) * b
    return None


@rule("sigmoid", phase="final")
def sigmoid_from_softplus(z):
    """sigmoid(z) -> exp(z - softplus(z)) where softplus(z) is computed anyway

    Two passes instead of the four of `0.5 + 0.5*tanh(z/2)`, and accurate to a few ulps in both tails.
    """
    softplus = z.graph.find("softplus", (z.node,))
    return None if softplus is None else call("exp", z - Value(z.graph, softplus))


@rule("mul", phase="final")
def mask_as_bool(x, y):
    """g * mask(a > b) -> g * (a > b): the product reads a bool array, no 0/1 floats are made"""
    for mask, other in ((y, x), (x, y)):
        if op_of(mask) in COMPARISONS and op_of(other) not in COMPARISONS + ("const",):
            return other * call("is_" + op_of(mask), arg(mask), arg(mask, 1))
    return None


@rule("where", phase="final")
def where_reads_bool(cond, a, b):
    """where(mask(x > y), a, b) -> where(x > y, a, b): np.where reads the comparison, no 0/1 floats are made"""
    if op_of(cond) in COMPARISONS:
        return call("where", call("is_" + op_of(cond), arg(cond), arg(cond, 1)), a, b)
    return None


@rule("add", phase="lower")
@rule("accumulate", phase="lower")
def collect_terms(*partials):
    """c*(1-y)*s - c*y*(1-s) -> c * (s - y): expand, collect like terms, take out the common factor"""
    return _collect(partials, (1.0,) * len(partials))


@rule("sub", phase="lower")
def collect_difference(x, y):
    """(a + b) * a - b * a -> a * a: as collect_terms, for a difference"""
    return _collect((x, y), (1.0, -1.0))


def _collect(parts, signs):
    rewriter = parts[0].graph.rewrite
    if "collect" in rewriter.holding:  # the collected form is final: do not collect it again while it is built
        return None
    atoms, visited = {}, set()
    total = {}
    for part, sign in zip(parts, signs):
        terms = _expand(part, atoms, visited, 0)
        if terms is None:
            return None
        _add_into(total, terms, sign)
    if any(not defined_everywhere(atoms[a]) for m, c in total.items() if c == 0 for a in m):
        return None  # a term that cancels may not take a nan with it: a*log(b) - a*log(b) is nan at b = -1
    total = {m: c for m, c in total.items() if c != 0}
    created = atoms.pop("created", 0)  # f(z) made for an f(-z): counted as new work
    before = 1 + sum(1 for node in visited if parts[0].graph.shape(node) != ())  # the sum itself, and below
    if not total or _cost(total) + created >= before:
        return None
    with rewriter.hold("collect"):
        return _build(parts[0], total, atoms)


def _expand(x, atoms, visited, depth):
    """`x` as {monomial: coefficient}, a monomial a sorted tuple of atom ids; None when it grows too big."""
    number = value(x)
    if number is not None:
        return {(): number}
    op = op_of(x)
    reciprocal = _reciprocal(value(arg(x, 1))) if op == "div" else None  # a / c: the coefficient 1 / c
    expandable = op in ("add", "sub", "mul", "neg", "accumulate") or reciprocal is not None
    if op in MIRRORED and op_of(arg(x)) == "neg":
        visited.add(x.node)
        z = arg(arg(x))
        mirrored = {(_atom(call(op, z), atoms),): -1.0 if op == "sigmoid" else 1.0}
        _add_into(mirrored, {(): 1.0} if op == "sigmoid" else {(_atom(z, atoms),): -1.0}, 1.0)
        atoms["created"] = atoms.get("created", 0) + 1
        return mirrored
    if not expandable or depth >= MAX_DEPTH:
        return {(_atom(x, atoms),): 1.0}
    visited.add(x.node)
    parts = [_expand(Value(x.graph, a), atoms, visited, depth + 1) for a in x.graph.args(x.node)]
    if any(p is None for p in parts):
        return None
    if op == "mul":
        result = _multiply(*parts)
    elif op == "div":
        result = {m: c * reciprocal for m, c in parts[0].items()}
    else:
        result = {}
        signs = {"sub": (1.0, -1.0), "neg": (-1.0,)}.get(op, (1.0,) * len(parts))
        for part, sign in zip(parts, signs):
            _add_into(result, part, sign)
    return result if len(result) <= MAX_TERMS else None


def _reciprocal(divisor):
    """1 / divisor where that is a normal number, else None (a / 0 and a / 1e-310 stay atoms: a coefficient of
    inf would give inf * 0 = nan at a = 0, where the source gives 0 / 1e-310 = 0)."""
    if divisor is None or divisor == 0 or not math.isfinite(divisor):
        return None
    reciprocal = 1.0 / divisor
    return reciprocal if math.isfinite(reciprocal) and abs(reciprocal) >= sys.float_info.min else None


def _atom(x, atoms):
    atoms[x.node] = x
    return x.node


def _multiply(p, q):
    result = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            _add_into(result, {tuple(sorted(m1 + m2)): c1 * c2}, 1.0)
    return result


def _add_into(total, terms, sign):
    for monomial, coefficient in terms.items():
        total[monomial] = total.get(monomial, 0.0) + sign * coefficient


def _common(terms):
    """The atoms every term has, with multiplicity."""
    monomials = list(terms)
    common = list(monomials[0])
    for monomial in monomials[1:]:
        rest = list(monomial)
        common = [a for a in common if a in rest and not rest.remove(a)]
    return common


def _cost(terms):
    """Elementwise operations the collected form needs."""
    common = _common(terms)
    ops = len(common) + len(terms) - 1
    for monomial, coefficient in terms.items():
        ops += max(len(monomial) - len(common) - 1, 0) + (abs(coefficient) != 1)
    return ops


def _build(like, terms, atoms):
    """`common * (t1 + t2 - t3 ...)`, scalar factors applied last, terms in a fixed order."""
    common = _common(terms)
    inner = {}
    for monomial, coefficient in terms.items():
        rest = list(monomial)
        for a in common:
            rest.remove(a)
        inner[tuple(rest)] = coefficient
    ordered = sorted(inner.items(), key=lambda item: (item[1] < 0, item[0]))
    result = None
    for monomial, coefficient in ordered:
        term = _product([atoms[a] for a in monomial], like)
        magnitude = abs(coefficient)
        if magnitude != 1:
            term = const(like, magnitude) * term
        if result is None:
            result = term if coefficient > 0 else -term
        else:
            result = result + term if coefficient > 0 else result - term
    for a in sorted(common, key=lambda a: atoms[a].shape != ()):
        result = atoms[a] * result
    return result


def _product(factors, like):
    if not factors:
        return const(like, 1.0)
    result = factors[0]
    for factor in factors[1:]:
        result = result * factor
    return result
