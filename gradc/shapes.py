"""Symbolic shapes: dimensions are ints or names, combined by NumPy's broadcasting rules."""
import keyword
import math
import unicodedata

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
