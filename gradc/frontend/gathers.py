"""The parser's gathers: indexing by an integer input (x[labels], X[:, labels], Z[arange(n), labels]) and the
check that an index operand (of take, take_along_axis) holds integers; indexing by constant lists (x[[0, 2]]),
which repeat with a count per element (repeat(x, [2, 0, 1])) is too.

A mixin of `gradc.frontend.parse._Parser`, which gives it expr, add, error, segment and graph.
"""
import ast

from gradc.errors import ParseError, ShapeError
from gradc.ops.indexing import Slice
from gradc.shapes import show

# The ops whose second operand is an index array; the parser checks that it holds integers.
INDEXED = frozenset({"take", "take_along_axis"})
# Ops that keep an integer array integer: a constant index of labels (labels[:, None]), a gather of it.
KEEPS_INTEGERS = frozenset({"index", "take", "take_along_axis", "pick"})
# How to declare an integer input, for an error naming it.
DECLARE = "declare {0} an integer input: {0}: int[n] in the source, shapes={{'{0}': gradc.Int('n')}}, or " \
          "--shape {0}=int:n"


class Gathers:
    def is_array_item(self, item):
        """An index item that is an array expression (x[labels]), not a constant (an int, a slice, None, ...)."""
        if isinstance(item, (ast.Slice, ast.Constant, ast.Compare)) or self.is_integer(item):
            return False
        return not self.is_numpy(item, "newaxis")

    def gather(self, node, operand, items):
        """`Z[arange(n), labels]` (pick), else `x[labels]` / `X[:, labels]` (take along that axis)."""
        shape = self.graph.shape(operand)
        if len(items) == 2 and self.is_arange(items[0]):
            self.check_arange(items[0], shape)
            return self.add(node, "pick", [operand, self.indices(items[1], node)])
        arrays = [i for i, item in enumerate(items) if self.is_array_item(item)]
        whole = all(isinstance(item, ast.Slice) and item.lower is item.upper is item.step is None
                    for i, item in enumerate(items) if i not in arrays)
        if len(arrays) != 1 or not whole:
            raise self.error(node, f"'{self.segment(node)}' is not a gather gradc compiles: index one axis by an "
                                   "integer array with ':' for the others (x[labels], X[:, labels]), or take one "
                                   "element per row with Z[arange(n), labels]; take_along_axis does the rest")
        indices = self.indices(items[arrays[0]], node)
        if arrays[0] >= len(shape):
            raise self.error(node, f"'{self.segment(node)}': too many indices for an array of shape {show(shape)}",
                             ShapeError)
        return self.add(node, "take", [operand, indices], axis=arrays[0])

    def constant_gather(self, node, operand, items):
        """`x[[0, 2]]`, `X[:, [0, 0, 1]]`, `A[[0, 1], [1, 2]]`: NumPy's integer-array indexing by constant lists, as
        the stack of the basic indexes it picks, so that a repeated index adds its gradients up.

        NumPy's rule for where the picked axis goes: the lists and ints are its advanced indices; where they stand
        side by side the new axis takes their place, else it comes first (T[0, :, [1, 2]] has shape (2, d)).
        """
        lists = {i: self.constant_list(item, node) for i, item in enumerate(items) if isinstance(item, ast.List)}
        index = [Slice() if i in lists else self.index_item(item) for i, item in enumerate(items)]
        return self.stacked_picks(node, operand, index, lists)

    def stacked_picks(self, node, operand, index, lists):
        """`operand[index]` with the constant lists `lists` (by their places in index, where index holds a full
        slice) picking along their axes: the stack of the basic indexes they pick."""
        count = {len(picks) for picks in lists.values()} - {1}
        if len(count) > 1:
            raise self.error(node, f"'{self.segment(node)}': the index lists have lengths "
                                   f"{', '.join(str(len(p)) for p in lists.values())}, which do not broadcast",
                             ShapeError)
        count = count.pop() if count else 1
        if index.count(Ellipsis) == 1:  # expanded here, where the lists' places are still known
            at = index.index(Ellipsis)
            rest = max(len(self.graph.shape(operand)) - sum(1 for item in index if item not in (None, Ellipsis)), 0)
            index[at:at + 1] = [Slice()] * rest
            lists = {i + (rest - 1 if i > at else 0): picks for i, picks in lists.items()}
        advanced = sorted(set(lists) | {i for i, item in enumerate(index) if isinstance(item, int)})
        side_by_side = advanced == list(range(advanced[0], advanced[-1] + 1))
        position = sum(1 for item in index[:advanced[0]] if not isinstance(item, int)) if side_by_side else 0
        picked = []
        for k in range(count):
            pick = [lists[i][k if len(lists[i]) > 1 else 0] if i in lists else item for i, item in enumerate(index)]
            picked.append(self.basic_index(node, operand, pick))
        return self.add(node, "stack", picked, axis=position)

    def repeat_each(self, node, operand, text, *, repeats, axis):
        """`repeat(x, [2, 0, 1], axis=0)`, one count per element along the axis (NumPy's meaning), as the constant
        gather x[[0, 0, 2]], so that the copies add their gradients up; a single count stands for them all.
        `text` is the operand's source, for the hint where the axis' length is a name."""
        if len(repeats) == 1:
            return self.add(node, "repeat", [operand], repeats=repeats[0], axis=axis)
        array = text if text.isidentifier() else f"({text})"
        if axis is None:
            if len(self.graph.shape(operand)) != 1:
                operand, array = self.add(node, "ravel", [operand]), f"ravel({text})"
            axis = 0
        shape = self.graph.shape(operand)
        if type(axis) is not int or not -len(shape) <= axis < len(shape):
            raise self.error(node, f"repeat: axis {axis!r} is not an axis of shape {show(shape)}", ShapeError)
        axis %= len(shape)
        picks = [i for i, count in enumerate(repeats) for _ in range(count)]
        if not isinstance(shape[axis], int):
            gather = f"{array}[{':, ' * axis}{picks}]" if picks else f"repeat({array}, 0, axis={axis})"
            raise self.error(node, f"repeat: {len(repeats)} counts, one per element, need the length along axis "
                                   f"{axis} of shape {show(shape)} to be the number {len(repeats)}: declare it so, "
                                   f"or write the gather they stand for, {gather}", ShapeError)
        if len(repeats) != shape[axis]:
            raise self.error(node, f"repeat: {len(repeats)} counts for the {shape[axis]} elements along axis {axis} "
                                   f"of shape {show(shape)}: give one count per element, or one for all",
                             ShapeError)
        if not picks:  # every count 0: the axis empties
            return self.add(node, "repeat", [operand], repeats=0, axis=axis)
        return self.stacked_picks(node, operand, [Slice()] * len(shape), {axis: picks})

    def constant_list(self, item, node):
        """The ints of one index list, [0, 2, -1]: no nested lists, no booleans (NumPy's masks)."""
        if not item.elts:
            raise self.error(item, f"'{self.segment(node)}': an empty index list picks nothing", ShapeError)
        if any(isinstance(e, ast.Constant) and isinstance(e.value, bool) for e in item.elts):
            raise self.error(item, f"'{self.segment(item)}' is a boolean mask, whose length depends on its values: "
                                   "use where(mask, x, 0) and reduce over all elements")
        return [self.integer(e, "an index list") for e in item.elts]

    def is_arange(self, item):
        return isinstance(item, ast.Call) and (isinstance(item.func, ast.Name) and item.func.id == "arange"
                                               or self.is_numpy(item.func, "arange"))

    def check_arange(self, item, shape):
        """arange(n) in Z[arange(n), labels] counts Z's rows: n, len(Z) or Z.shape[0] (or their number)."""
        if len(item.args) != 1 or item.keywords:
            raise self.error(item, f"'{self.segment(item)}': write arange(n), one argument, the number of rows")
        count = self.expr(item.args[0])
        data = self.graph[count]
        attrs = dict(data["attrs"])
        rows = shape[0] if shape else None
        if not (data["op"] == "size" and attrs["dims"] == (rows,) or data["op"] == "const" and attrs["value"] == rows):
            raise self.error(item, f"'{self.segment(item)}' must count the rows of an array of shape {show(shape)}: "
                                   f"write arange({rows if shape else 'n'})", ShapeError)

    def indices(self, item, node):
        """An index operand: an expression whose values are integers (an integer input, labels[:, None])."""
        value = self.expr(item)
        if not self.holds_integers(value):
            name = item.id if isinstance(item, ast.Name) else "labels"
            raise self.error(item, f"'{self.segment(node)}' indexes by '{self.segment(item)}', which does not hold "
                                   f"integers: {DECLARE.format(name)}", ParseError)
        return value

    def holds_integers(self, value):
        data = self.graph[value]
        if data["op"] in KEEPS_INTEGERS:
            return all(self.holds_integers(arg) for arg in data["args"])
        return self.graph.is_integer(value)
