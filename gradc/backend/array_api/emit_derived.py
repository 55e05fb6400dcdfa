"""How the Array API backend writes the derived functions' own parts (gradc/backend/derived.py holds what they
compute): nothing is written in place, so `jax.jit` traces them as it traces value_and_grad."""
from gradc.backend import derived as functions
from gradc.backend.array_api.writer import ArrayContext, Writer
from gradc.backend.writer import Basis, Line


class ArraySpelling(functions.Spelling):
    """Basis vectors built as one-hot arrays, and each block stacked from the parts a loop collects in a list."""

    def __init__(self, spelling):
        self.spelling = spelling  # the module's `xp`, `dtype` and `device`
        self.reserved = (spelling.xp, spelling.dtype, spelling.device)

    def writer(self, graph, plan, readable):
        return Writer(graph, plan, self.spelling, readable)

    def direction(self, target, what, given, like):
        """`v_x = _direction(xp, 'v["x"]', v["x"], x)`: an array of x's namespace, dtype, device and shape."""
        return Line("assign", target, f"_direction({self.spelling.xp}, {what}, {given}, {like})",
                    helpers=("_direction",), keep=True)

    def loop(self, writer, index, dims, vector, body, blocks, trailing):
        context = ArrayContext(writer.plan.dims, spelling=self.spelling)
        xp = self.spelling.xp
        before = [Line("assign", name, "[]" if node is not None else context.filled("zeros", whole))
                  for name, node, whole in blocks]
        opening = [Line("assign", vector, f"_basis({xp}, {context.shape(dims)}, {index}, {self.spelling.dtype}, "
                                          f"{self.spelling.device})", helpers=("_basis",))]
        stores = [Line("raw", expr=f"{name}.append({self._part(writer, context, node, whole, len(dims), trailing)})")
                  for name, node, whole in blocks if node is not None]
        axis = ", axis=-1" if trailing else ""
        after = [Line("assign", name, f"{xp}.reshape({xp}.stack({name}{axis}), {context.shape(whole)})")
                 for name, node, whole in blocks if node is not None]
        return Basis(before, index, f"range({context.size(dims)})", opening + body + stores, after)

    def _part(self, writer, context, node, whole, count, trailing):
        """The node's value as an array of its part's shape (the block less the loop's `count` axes), which
        the stack needs where the value broadcasts (a Python number, or a row of shape (1,))."""
        part = whole[:len(whole) - count] if trailing else whole[count:]
        text = writer.as_array(node, writer.ref(node))
        if writer.graph.shape(node) != part:
            text = f"{self.spelling.xp}.broadcast_to({text}, {context.shape(part) if part else '()'})"
        return text


def builders(spelling):
    """emit's builder of each derived kind, writing with the module's `spelling`."""
    def function(derived, inputs, entry=(), readable=False):
        return functions.function(derived, inputs, ArraySpelling(spelling), entry, readable)
    return {kind: function for kind in functions.EMITTERS}
