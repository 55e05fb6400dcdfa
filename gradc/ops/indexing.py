"""Constant basic indexing (integers, slices, None) and its adjoint, the scatter into zeros.

An index is a tuple of items, each an int (drops its dimension), `None` (a new dimension of length 1) or a
`Slice` (start, stop, step; None where omitted). The parser expands `...` into full slices, so the ops never
see one. A slice of a named dimension has a named length where it is a polynomial of the dimension
(gradc/dimensions.py): `x[1:]` of (n,) is n - 1, `x[:3]` is 3, both needing n >= their bounds, which the module
checks on entry (NumPy would clamp them); a step other than 1 and -1 is a ShapeError asking for a concrete size.
A join's adjoint cuts at dimension bounds (`g[:n]`, `g[n:]`), the only slices whose bounds are not ints.
"""
from typing import NamedTuple, Optional

import numpy as np

from gradc import dimensions, shapes
from gradc.errors import ShapeError
from gradc.ops.domain import ANY
from gradc.ops.formula import Formula, function
from gradc.ops.registry import Op, call, defop, linear


class Slice(NamedTuple):
    """`start:stop:step` with None where omitted; hashable, unlike Python 3.11's slice, so it fits a node key."""

    start: Optional[int] = None  # an int from the source; a dimension (`n`) where gradc cuts a join's blocks
    stop: Optional[int] = None
    step: Optional[int] = None

    def __str__(self):
        text = ("" if self.start is None else str(self.start)) + ":" + ("" if self.stop is None else str(self.stop))
        return text + ("" if self.step is None else f":{self.step}")

    __repr__ = __str__

    def keeps_whole(self):
        """Every element, forwards or backwards, whatever the length."""
        return self.start is None and self.stop is None and self.step in (None, 1, -1)

    def symbolic_length(self, dim):
        """(length, least) of this slice of a dimension named `dim`: `x[1:-1]` has n - 2 elements where n >= 2
        (below that NumPy clamps the bounds and the length is another polynomial, so the module checks `least`
        on entry). None where the length is no polynomial of n: a step, or a start from the end with a stop
        from the front (`x[-3:2]`)."""
        if self.keeps_whole():
            return dim, 0
        if self.step not in (None, 1):
            return None
        start = self.start or 0
        stop = self.stop
        if isinstance(start, str) or isinstance(stop, str):  # gradc's own cut (a join's block): start <= stop <= dim
            return dimensions.subtract(dim if stop is None else stop, start), 0
        if start >= 0 and stop is not None and stop >= 0:  # x[a:b]
            return max(stop - start, 0), stop
        if start >= 0:  # x[a:], x[a:-c]
            cut = start - (stop or 0)
            return dimensions.subtract(dim, cut), cut
        if stop is None or stop < 0:  # x[-a:], x[-a:-c]
            return max((stop or 0) - start, 0), -start
        return None


def item_text(item):
    return "None" if item is None else str(item)


def index_text(index):
    """The index as NumPy source: `1, ::-1, None`."""
    return ", ".join(item_text(item) for item in index)


def consumed(index):
    """The items that take up a dimension of the operand (ints and slices), in order."""
    return [item for item in index if item is not None]


def _dim_after(item, dim):
    if isinstance(dim, int):
        return len(range(*slice(*item).indices(dim)))
    cut = isinstance(item.start, str) or isinstance(item.stop, str)  # gradc's own, at dimension bounds
    found = item.symbolic_length(dim) if not dimensions.is_composite(dim) or item.keeps_whole() or cut else None
    if found is None:
        raise ShapeError(f"[{item}]: slicing the dimension {dim} this way gives a length gradc cannot name "
                         f"({dim} is symbolic): declare {dim} as a number, or slice with step 1 and bounds "
                         "counted from the ends (x[1:], x[:-1], x[-3:])")
    return found[0]


def index_shape(x, *, index):
    used = consumed(index)
    if len(used) > len(x):
        raise ShapeError(f"[{index_text(index)}]: {len(used)} indices for an array of shape {shapes.show(x)}")
    result, dims = [], iter(x)
    for item in index:
        if item is None:
            result.append(1)
            continue
        dim = next(dims)
        if isinstance(item, Slice):
            result.append(_dim_after(item, dim))
        elif isinstance(dim, int) and isinstance(item, int) and not -dim <= item < dim:
            raise ShapeError(f"[{index_text(index)}]: index {item} is out of range for a dimension of length {dim}")
    return tuple(result) + tuple(dims)


def numpy_index(index):
    """The index as NumPy takes it: Slice -> slice."""
    return tuple(slice(*item) if isinstance(item, Slice) else item for item in index)


INDEX = defop(Op(name="index", arity=1, shape=index_shape,
                 impl=lambda x, *, index: np.asarray(x)[numpy_index(index)],
                 vjp=lambda g, out, x, *, index: (call("scatter", g, index=index, shape=x.shape),),
                 jvp=linear("index"),
                 symbol="[]", view=True, scalar_adjoint=True, operator="[]",
                 formula=Formula("{0:atom}[{index}]", "{0:atom}_{{{index}}}", terse=True),
                 doc="x[1], X[:, 0], x[::-1], X[1:-1, ::2], x[None, :], X[..., 0]: constant basic indexing",
                 domain=(ANY,), defined_everywhere=True))


def _scatter_impl(g, *, index, shape):
    result = np.zeros(shape)
    result[numpy_index(index)] = g
    return result


# The adjoint of indexing: zeros with the gradient written at the index. Two statements, one fresh array.
SCATTER = defop(Op(name="scatter", arity=1, shape=lambda g, *, index, shape: shape,
                   impl=_scatter_impl, vjp=lambda g, out, x, *, index, shape: (call("index", g, index=index),),
                   jvp=linear("scatter"),
                   symbol="[]ᵀ", formula=function("scatter"), doc="zeros with x written at an index",
                   domain=(ANY,), defined_everywhere=True))
