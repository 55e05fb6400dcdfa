"""Arrays made from a shape (zeros, ones, full, eye, identity) or written out (np.array of numbers), from another's
shape (zeros_like, ones_like, full_like), and the triangle and diagonal functions (tril, triu, diag, diagonal).

The leaves are built with `call(name, shape=..., like=value)` by derivative rules too: zeros is the gradient
of an input the output does not depend on, eye the derivative of trace. A `_like` array depends on its
operand's shape alone, so its derivative is zero (its rules give None).

NOTE: a diagonal of a symbolic (n, m) matrix has min(n, m) elements, no polynomial (gradc/dimensions.py): only a
square (n, n) matrix's diagonals have named lengths (n - |k|), and a vector (n,) on diagonal k makes n + |k|.
"""
import numpy as np

from gradc import dimensions, shapes
from gradc.errors import ShapeError
from gradc.ops.domain import ANY
from gradc.ops.formula import ATOM, Formula, Piece, function, printed
from gradc.ops.registry import Op, call, defop, linear


def made(shape, op):
    """A shape given to a constructor, checked: non-negative ints and names."""
    if shape is None:
        raise ShapeError(f"{op}() needs a shape, as in {op}((n, 3)) or {op}(3)")
    if any(isinstance(d, int) and d < 0 for d in shape):
        raise ShapeError(f"{op}: negative dimensions are not allowed, got shape {shapes.show(shape)}")
    return tuple(shape)


# Leaves with no operands. The source's eye(N, M=None, k=0) becomes shape=(N, M), k where k != 0, so the
# identity it writes is the node the derivative of trace builds (`attributes` maps the source's keywords).
ZEROS = defop(Op(name="zeros", arity=0, shape=lambda *, shape: made(shape, "zeros"),
                 impl=lambda *, shape: np.zeros(shape), symbol="zeros", formula=Formula("0", "0"),
                 names=("zeros",), keywords=(("shape", None),), positional=1,
                 doc="zeros(shape): an array of zeros (also the gradient of an input the output does not use)",
                 defined_everywhere=True))
ONES = defop(Op(name="ones", arity=0, shape=lambda *, shape: made(shape, "ones"), impl=lambda *, shape: np.ones(shape),
                symbol="1", formula=Formula("1", "1"), names=("ones",), keywords=(("shape", None),), positional=1,
                doc="ones(shape): an array of ones", defined_everywhere=True))
def filled(fill_value, op):
    if fill_value is None:
        raise ShapeError(f"{op}() needs its fill_value, a number constant, as in {op}(..., 0.5)")
    return fill_value


def _full_shape(*, shape, fill_value):
    filled(fill_value, "full")
    return made(shape, "full")


FULL = defop(Op(name="full", arity=0, shape=_full_shape,
                impl=lambda *, shape, fill_value: np.full(shape, fill_value), symbol="full",
                formula=Formula("{fill_value}", "{fill_value}"), names=("full",),
                keywords=(("shape", None), ("fill_value", None)), positional=2,
                doc="full(shape, fill_value): an array holding one number constant everywhere"))


def _eye_shape(*, shape, k=0):
    if len(shape) != 2:
        raise ShapeError(f"eye: the shape must have two dimensions, got {shapes.show(shape)}")
    return made(shape, "eye")


def _eye_attributes(*, N, M, k):
    if N is None:
        raise ShapeError("eye(N, M=None, k=0) needs the number of rows N, as in eye(n) or eye(3)")
    return dict(shape=(N, N if M is None else M), **({"k": k} if k else {}))


EYE = defop(Op(name="eye", arity=0, shape=_eye_shape, impl=lambda *, shape, k=0: np.eye(*shape, k=k), symbol="I",
               formula=Formula("eye({shape})", "I"), names=("eye",),
               keywords=(("N", None), ("M", None), ("k", 0)), positional=3, attributes=_eye_attributes,
               doc="eye(N, M=None, k=0): ones on the k-th diagonal of an N x M matrix, else zeros",
               defined_everywhere=True))
IDENTITY = defop(Op(name="identity", arity=0, shape=lambda *, shape: made(shape, "identity"),
                    impl=lambda *, shape: np.identity(shape[0]), symbol="I", formula=Formula("identity({shape})", "I"),
                    names=("identity",), keywords=(("n", None),), positional=1,
                    attributes=lambda *, n: dict(shape=(n, n)),
                    doc="identity(n): the n x n identity matrix", defined_everywhere=True))


def literal_text(values):
    """Nested tuples of floats as NumPy's source writes them: [[1.0, 2.0], [3.0, 4.0]]."""
    if isinstance(values, tuple):
        return "[" + ", ".join(literal_text(v) for v in values) + "]"
    return repr(float(values))


# np.array([[1, 2], [3, 4]]) of numbers alone: one constant array. A list holding values is a stack of them
# (the parser builds it), so only the numbers' literal is a leaf.
LITERAL = defop(Op(name="literal", arity=0, shape=lambda *, values: np.shape(values),
                   impl=lambda *, values: np.array(values, dtype=float), symbol="[…]",
                   formula=printed(lambda p, node, *, values: Piece(literal_text(values), ATOM)),
                   names=("array", "asarray"), defined_everywhere=True,
                   doc="np.array([[a, b], [c, d]]) of numbers and values (a list of values stacks them)"))


# The _like forms: an array shaped like the operand, whose values it does not read (derivative zero).
def _like_shape(name):
    def shape(a, **attrs):
        if "fill_value" in attrs:
            filled(attrs["fill_value"], name)
        return a
    return shape


def _like(name, impl, doc, keywords=()):
    return defop(Op(name=name, arity=1, shape=_like_shape(name), impl=impl,
                    vjp=lambda g, out, a, **attrs: (None,), jvp=lambda tangents, out, a, **attrs: None,
                    symbol=name, formula=function(name), names=(name,), keywords=keywords, positional=len(keywords),
                    doc=doc, domain=(ANY,), defined_everywhere=True))


ZEROS_LIKE = _like("zeros_like", lambda a: np.zeros(np.shape(a)), "zeros_like(a): zeros of a's shape (gradient 0)")
ONES_LIKE = _like("ones_like", lambda a: np.ones(np.shape(a)), "ones_like(a): ones of a's shape (gradient 0)")
FULL_LIKE = _like("full_like", lambda a, *, fill_value: np.full(np.shape(a), fill_value),
                  "full_like(a, fill_value): a number constant in a's shape (gradient 0)", (("fill_value", None),))


def _triangle_shape(name):
    def shape(x, *, k):
        if len(x) < 2:
            raise ShapeError(f"{name}: the operand must be a matrix (or a stack of them), got shape {shapes.show(x)}")
        return x
    return shape


# A triangle is the operand times a fixed 0/1 mask: the adjoint is the same triangle of the gradient.
TRIL = defop(Op(name="tril", arity=1, shape=_triangle_shape("tril"), impl=lambda x, *, k: np.tril(x, k),
                vjp=lambda g, out, x, *, k: (call("tril", g, k=k),), jvp=linear("tril"), symbol="tril",
                names=("tril",), keywords=(("k", 0),), positional=1, formula=function("tril"),
                doc="tril(X, k=0): X on and below the k-th diagonal, zeros above", domain=(ANY,),
                defined_everywhere=True))
TRIU = defop(Op(name="triu", arity=1, shape=_triangle_shape("triu"), impl=lambda x, *, k: np.triu(x, k),
                vjp=lambda g, out, x, *, k: (call("triu", g, k=k),), jvp=linear("triu"), symbol="triu",
                names=("triu",), keywords=(("k", 0),), positional=1, formula=function("triu"),
                doc="triu(X, k=0): X on and above the k-th diagonal, zeros below", domain=(ANY,),
                defined_everywhere=True))


def diagonal_length(shape, offset, op):
    """The length of a matrix's `offset` diagonal (above the main one for offset > 0), as NumPy counts it."""
    rows, columns = shape
    if isinstance(rows, int) and isinstance(columns, int):
        return max(0, min(rows, columns - offset) if offset >= 0 else min(rows + offset, columns))
    if rows == columns:  # NOTE: n - |offset| holds for n >= |offset| (below it NumPy's diagonal is empty)
        return dimensions.subtract(rows, abs(offset))
    raise ShapeError(f"{op}: the {'main' if offset == 0 else f'offset {offset}'} diagonal of a matrix of shape "
                     f"{shapes.show(shape)} has a length gradc cannot name (the smaller of two sizes): declare the "
                     "dimensions as numbers, or take a diagonal of a square (n, n) matrix")


def _diagonal_shape(x, *, offset):
    if len(x) != 2:
        raise ShapeError(f"diagonal: gradc takes the diagonal of a matrix, got shape {shapes.show(x)}")
    return (diagonal_length(x, offset, "diagonal"),)


def _diag_shape(x, *, k):
    if len(x) == 2:
        return (diagonal_length(x, k, "diag"),)
    if len(x) != 1:
        raise ShapeError(f"diag: the operand must be a vector (to make a matrix) or a matrix (to take its "
                         f"diagonal), got shape {shapes.show(x)}")
    side = dimensions.add(x[0], abs(k))
    return (side, side)


# diagonal and its adjoint: the diagonal written into zeros of the matrix's shape.
# NOTE: NumPy's diagonal of a matrix is a read-only view (view=True: nothing is written into it).
DIAGONAL = defop(Op(name="diagonal", arity=1, shape=_diagonal_shape, impl=lambda x, *, offset: np.diagonal(x, offset),
                    vjp=lambda g, out, x, *, offset: (call("undiagonal", g, offset=offset, shape=x.shape),),
                    jvp=linear("diagonal"), symbol="diag", names=("diagonal",), keywords=(("offset", 0),), view=True,
                    positional=1, formula=function("diagonal"),
                    doc="diagonal(X, offset=0) or X.diagonal(): the offset diagonal of a matrix", domain=(ANY,),
                    defined_everywhere=True))


def _undiagonal_impl(g, *, offset, shape):
    result = np.zeros(shape)
    np.fill_diagonal(result[:, offset:] if offset >= 0 else result[-offset:], g)
    return result


UNDIAGONAL = defop(Op(name="undiagonal", arity=1, shape=lambda g, *, offset, shape: shape, impl=_undiagonal_impl,
                      vjp=lambda g, out, x, *, offset, shape: (call("diagonal", g, offset=offset),),
                      jvp=linear("undiagonal"), symbol="diagᵀ", formula=function("undiagonal"),
                      doc="zeros of a matrix's shape with x written on its offset diagonal", domain=(ANY,),
                      defined_everywhere=True))


def _diag_vjp(g, out, x, *, k):
    if x.ndim == 1:  # a vector put on a diagonal: its adjoint is that diagonal of g
        return (call("diagonal", g, offset=k),)
    return (call("undiagonal", g, offset=k, shape=x.shape),)


DIAG = defop(Op(name="diag", arity=1, shape=_diag_shape, impl=lambda x, *, k: np.diag(x, k), vjp=_diag_vjp,
                jvp=linear("diag"), symbol="diag", names=("diag",), keywords=(("k", 0),), positional=1, view=True,
                formula=function("diag"), domain=(ANY,), defined_everywhere=True,
                doc="diag(v, k=0): a vector on the k-th diagonal of a square matrix; diag(X, k): X's k-th diagonal"))
