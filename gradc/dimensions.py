"""Arithmetic on symbolic dimensions: n*d, n + m, n - 1, kept as canonical polynomials with integer coefficients.

A dimension is an int, a name ("n"), or the canonical text of a polynomial of names ("d*n", "m + n", "n - 1"),
so that two spellings of one size are one dimension (n*d and d*n) and the text is the Python expression that
computes the size wherever its names are bound. Composite dimensions arise inside a graph (a reshape, a join,
a slice); declared shapes hold ints and names only (gradc.shapes.check_dims). The text is gradc's own, built
here from ints and names, never the user's: reading it back is parsing a polynomial, not running code.
"""
import math
import re

_TERM = re.compile(r"\s*([+-]?)\s*([^+-]+)")


def terms(dim):
    """{monomial: coefficient}, a monomial being the sorted tuple of its names (() for the constant)."""
    if isinstance(dim, int):
        return {(): dim} if dim else {}
    if dim.isidentifier():
        return {(dim,): 1}
    result = {}
    for sign, term in _TERM.findall(dim):
        factors = [f.strip() for f in term.split("*")]
        coefficient = math.prod(int(f) for f in factors if f.isdigit()) * (-1 if sign == "-" else 1)
        monomial = tuple(sorted(f for f in factors if not f.isdigit()))
        result[monomial] = result.get(monomial, 0) + coefficient
    return {m: c for m, c in result.items() if c}


def of_terms(polynomial):
    """The dimension a polynomial is: an int, a name, or canonical text (higher degree first, then by name)."""
    polynomial = {m: c for m, c in polynomial.items() if c}
    if not polynomial or set(polynomial) == {()}:
        return polynomial.get((), 0)
    if len(polynomial) == 1 and next(iter(polynomial.items()))[1] == 1 and len(next(iter(polynomial))) == 1:
        return next(iter(polynomial))[0]
    text = ""
    for monomial in sorted(polynomial, key=lambda m: (-len(m), m)):
        coefficient = polynomial[monomial]
        factors = ([str(abs(coefficient))] if abs(coefficient) != 1 or not monomial else []) + list(monomial)
        sign = "-" if coefficient < 0 else "+"
        text += (f" {sign} " if text else ("-" if sign == "-" else "")) + "*".join(factors)
    return text


def add(*dims):
    total = {}
    for dim in dims:
        for monomial, coefficient in terms(dim).items():
            total[monomial] = total.get(monomial, 0) + coefficient
    return of_terms(total)


def subtract(a, b):
    return add(a, of_terms({m: -c for m, c in terms(b).items()}))


def multiply(*dims):
    product = {(): 1}
    for dim in dims:
        step = {}
        for m1, c1 in product.items():
            for m2, c2 in terms(dim).items():
                monomial = tuple(sorted(m1 + m2))
                step[monomial] = step.get(monomial, 0) + c1 * c2
        product = step
    return of_terms(product)


def names(dim):
    """The dimension names a dimension is made of."""
    return sorted({name for monomial in terms(dim) for name in monomial})


def is_composite(dim):
    return isinstance(dim, str) and not dim.isidentifier()


def evaluate(dim, sizes):
    """The dimension's size, the names' sizes given by `sizes`."""
    return sum(c * math.prod(sizes[name] for name in m) for m, c in terms(dim).items())


def text(dim, rename=lambda name: name, operand=False):
    """The dimension as a Python expression, its names renamed; parenthesized when composite as an `operand`
    (of a product or a division: t / (d*n), not t / d*n)."""
    if isinstance(dim, int):
        return str(dim)
    written = re.sub(r"[^\W\d]\w*", lambda match: rename(match.group()), dim)
    return f"({written})" if operand and is_composite(dim) else written

