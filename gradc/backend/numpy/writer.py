"""How the NumPy backend's lines write what its namespace decides: its lowerings, in-place ufunc calls, and
values returned as fresh float arrays (or Python floats) that alias no input."""
from gradc.backend import writer
from gradc.backend.numpy.lowerings import lowering_of
from gradc.backend.numpy.prologue import stays_python_float


class Context(writer.Context):
    SPECIAL = {"nan": "np.nan", "inf": "np.inf", "-inf": "-np.inf"}


class Writer(writer.Writer):
    context = Context

    @staticmethod
    def lowering(op):
        return lowering_of(op)

    def in_place(self, node, buffer):
        """`np.subtract(t1, y, out=t1)`: the op's ufunc writing into the buffer of an operand that dies here."""
        operands = self.operands(node)
        if self.graph[node]["op"] == "accumulate":
            operands = self.partial_names(node, operands)
        return f"np.{self.lowering(self.graph.op(node)).ufunc}({', '.join(operands)}, out={self.ref(buffer)})"

    def value(self, node):
        """The value as returned: a fresh array where it would be the caller's own (`x`, `x.T`, `X[0]`)."""
        name = self.ref(node)
        if self.graph.shape(node) and self.graph[self.memory(node)]["op"] == "input":
            return f"np.array({name})"
        return name

    def returned(self, node, of, roots):
        """A gradient as returned: a float for a scalar; a fresh array that aliases no input or other gradient.

        Args:
            of: the input whose gradient `node` is, or None.
            roots: how many outputs share each memory root (see `memory`).
        """
        # The alias g_<input> names the gradient only when it is the returned node, not e.g. its broadcast.
        alias = self.plan.aliases.get(of)
        name = alias.name if alias is not None and alias.value == node else self.ref(node)
        if self.graph.shape(node) == ():
            if self.python_floats and stays_python_float(self.graph, node, self._known_floats):
                return name
            return f"float({name})"
        root = self.memory(node)
        read_only = self.graph[node]["op"] == "broadcast_to"
        if read_only or self.graph[root]["op"] == "input" or roots[root] > 1:
            return f"np.array({name}, dtype=np.{self.dtype})"
        if self.dtype == "float64":
            return name  # every array input was made float64 on entry, so every result is float64
        return f"np.asarray({name}, dtype=np.{self.dtype})"  # masks and float constants are float64
