"""Symbolic shapes: dimensions are ints or names, combined by NumPy's broadcasting rules."""
import keyword
import math
import unicodedata

from gradc import dimensions
from gradc.errors import ShapeError

MAX_SIZE = 2 ** 63 - 1  # NumPy's largest array size (intp); a larger dimension or product cannot exist


def show(shape):
    """A shape as the user wrote it: (n, d), (3,), ()."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def broadcast(*shapes, op="operation"):
    """The shape NumPy broadcasting gives; distinct names are distinct dimensions."""
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for axis in range(ndim):
        dims = [s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0]
        sized = {d for d in dims if d != 1}
        if len(sized) > 1:
            raise ShapeError(f"{op}: shapes {' and '.join(show(s) for s in shapes)} do not broadcast")
        result.append(sized.pop() if sized else 1)
    return tuple(result)


def elementwise(*shapes, op="operation"):
    return broadcast(*shapes, op=op)


def reduce(shape, axis, keepdims=False, op="sum"):
    """The shape left after reducing `axis` (None: every axis; an int or a tuple of ints)."""
    axes = normalize_axes(shape, axis, op)
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def normalize_axes(shape, axis, op="sum"):
    """`axis` as a sorted tuple of non-negative ints, checked against `shape`."""
    if axis is None:
        return tuple(range(len(shape)))
    axes = axis if isinstance(axis, tuple) else (axis,)
    result = set()
    for a in axes:
        if not -len(shape) <= a < len(shape):
            raise ShapeError(f"{op}: axis {a} is out of range for shape {show(shape)}")
        result.add(a % len(shape))
    return tuple(sorted(result))


def inserted_axes(ndim, axis, op="expand_dims"):
    """expand_dims' `axis` (an int or a tuple, negatives from the end) as the sorted positions of the new
    axes in a result of `ndim + len(axis)` dimensions."""
    if axis is None:
        raise ShapeError(f"{op}: give the position of the new axis, as in {op}(x, 0)")
    axes = axis if isinstance(axis, tuple) else (axis,)
    ndim += len(axes)
    if any(not -ndim <= a < ndim for a in axes):
        raise ShapeError(f"{op}: axis {axis} is out of range for a result of {ndim} dimensions")
    result = tuple(sorted(a % ndim for a in axes))
    if len(set(result)) != len(result):
        raise ShapeError(f"{op}: axis {axis} names one position twice")
    return result


def permutation(shape, axes, op="transpose"):
    """`axes` as a permutation of range(len(shape)) (None: the axes reversed), negatives counted from the end."""
    ndim = len(shape)
    if axes is None:
        return tuple(range(ndim))[::-1]
    axes = axes if isinstance(axes, tuple) else (axes,)
    if len(axes) != ndim or any(type(a) is not int or not -ndim <= a < ndim for a in axes) \
            or len({a % ndim for a in axes}) != ndim:
        raise ShapeError(f"{op}: axes {axes} are not a permutation of the {ndim} axes of shape {show(shape)}")
    return tuple(a % ndim for a in axes)


def quotient(total, part):
    """`total / part` as a dimension where it divides exactly as a polynomial of one term (6*d*n / 3*n is 2*d),
    else None: the -1 that reshape infers must be a size gradc can name."""
    whole, piece = dimensions.terms(total), dimensions.terms(part)
    if len(piece) != 1:
        return 1 if whole == piece and piece else None  # a sum divides only itself
    (names, coefficient), = piece.items()
    result = {}
    for monomial, c in whole.items():
        rest = list(monomial)
        for name in names:
            if name not in rest:
                return None
            rest.remove(name)
        if c % coefficient:
            return None
        result[tuple(rest)] = c // coefficient
    return dimensions.of_terms(result)


def reshaped(shape, target, op="reshape"):
    """The shape `target` (ints, names, products of them, at most one -1 for NumPy's inferred length) for an
    array of `shape`, checked to hold the same number of elements whatever the sizes of the names."""
    target = target if isinstance(target, tuple) else (target,)
    if any(isinstance(d, int) and d < -1 for d in target) or target.count(-1) > 1:
        raise ShapeError(f"{op}: invalid shape {show(target)}: lengths are sizes, and at most one is -1")
    total, known = dimensions.multiply(*shape), dimensions.multiply(*(d for d in target if d != -1))
    if -1 in target:
        inferred = quotient(total, known)
        if inferred is None:
            raise ShapeError(f"{op}: cannot infer the -1 in {show(target)} for shape {show(shape)}: {total} "
                             f"elements are not a known multiple of {known} (give every length)")
        target = tuple(inferred if d == -1 else d for d in target)
    elif total != known:
        raise ShapeError(f"{op}: shape {show(shape)} has {total} elements and {show(target)} has {known} "
                         "(sizes written with the same names agree whatever their values)")
    return target


def is_broadcastable(small, big):
    """True when an array of shape `small` broadcasts to `big` without changing it."""
    if len(small) > len(big):
        return False
    return all(s in (1, b) for s, b in zip(small[::-1], big[::-1]))


def identifier(name):
    """`name` as Python reads an identifier: NFKC-normalized, so `ｎ` and `n` are one name (PEP 3131)."""
    return unicodedata.normalize("NFKC", name) if isinstance(name, str) else name


def declared(shapes):
    """`shapes=` as {name: dims}, names normalized as Python reads them, each shape checked (see `check_dims`);
    an integer input's shape stays an `Int`."""
    result = {}
    for name, dims in (shapes or {}).items():
        key = identifier(name)
        if key in result:
            raise ShapeError(f"shapes name {key!r} twice ({name!r} is {key!r} to Python)")
        result[key] = Int(*dims) if isinstance(dims, Int) else check_dims(dims)
    return result


class Int(tuple):
    """The shape of an integer input (labels, indices), which gathers read and nothing differentiates:
    `shapes={"labels": gradc.Int("n")}`, `--shape labels=int:n`, `labels: int[n]` in a source.

    A tuple of dims like any declared shape (`Int("n", 3)`, or one comma list `Int("n,3")`), so the shape rules
    read it as they read the others; only its type says that the input holds integers.
    """

    def __new__(cls, *dims):
        dims = check_dims(dims[0] if len(dims) == 1 and isinstance(dims[0], (str, tuple, list)) else dims)
        if not dims:
            raise ShapeError("an integer input is an array of indices: give its shape, as in Int('n')")
        return super().__new__(cls, dims)

    def __repr__(self):
        return "Int(" + ", ".join(repr(d) for d in self) + ")"


def integer_names(shapes):
    """The names whose declared shapes are integer inputs' (`Int`), sorted."""
    return tuple(sorted(name for name, dims in shapes.items() if isinstance(dims, Int)))


def shape_of_text(text):
    """A declared shape as the command line writes it: `n,d`, `(n,d)`, or `int:n` for an integer input."""
    kind, integer, dims = text.strip().partition("int:")
    if integer and not kind.strip():
        return Int(dims)
    return check_dims(tuple(_dim_of_text(d.strip()) for d in text.strip("()").split(",") if d.strip()))


def check_dims(dims):
    """A declared shape as a tuple of non-negative ints and names; a string is a comma list (`"n,d"`).

    Names are normalized as Python reads them; they may not be keywords or start with an underscore (the
    generated module's own names do).
    """
    if isinstance(dims, str):
        dims = tuple(_dim_of_text(d.strip()) for d in dims.strip().strip("()").split(",") if d.strip())
    elif isinstance(dims, int) and not isinstance(dims, bool):
        dims = (dims,)
    elif not isinstance(dims, (tuple, list)):
        raise ShapeError(f"invalid shape {dims!r}: give a tuple of dims such as ('n', 3), or a comma list 'n,3'")
    dims = tuple(identifier(d) for d in dims)
    for d in dims:
        if isinstance(d, bool) or not (isinstance(d, int) and 0 <= d <= MAX_SIZE or _is_dim_name(d)):
            raise ShapeError(f"invalid dimension {d!r}{_why_not(d)}: use a non-negative int or a name such as n")
    if math.prod(d for d in dims if isinstance(d, int)) > MAX_SIZE:
        raise ShapeError(f"shape {show(dims)} has more elements than any array can ({MAX_SIZE})")
    return dims


def _dim_of_text(text):
    return int(text) if text.lstrip("-").isdigit() else text


def _why_not(d):
    if isinstance(d, str) and keyword.iskeyword(d):
        return " (a Python keyword)"
    if isinstance(d, str) and d.startswith("_"):
        return " (names starting with an underscore belong to the generated module)"
    if isinstance(d, int) and not isinstance(d, bool) and d > MAX_SIZE:
        return f" (larger than any array can be, {MAX_SIZE})"
    return ""


def _is_dim_name(d):
    return isinstance(d, str) and d.isidentifier() and not keyword.iskeyword(d) and not d.startswith("_")
