"""Symbolic shapes: dimensions are ints or names, combined by NumPy's broadcasting rules."""
from gradc.errors import ShapeError


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


def check_dims(dims):
    """Validate the dimensions of a declared shape: non-negative ints or identifiers."""
    for d in dims:
        if isinstance(d, bool) or not (isinstance(d, int) and d >= 0 or isinstance(d, str) and d.isidentifier()):
            raise ShapeError(f"invalid dimension {d!r}: use a non-negative int or a name such as n")
    return tuple(dims)
