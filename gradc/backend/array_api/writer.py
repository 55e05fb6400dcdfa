"""How the Array API backend's lines write what a namespace decides: the function's `xp`, `dtype` and
`device` in every array it makes, no line writing into an operand's buffer, and values returned as arrays
of the inputs' namespace that alias no input."""
import functools
import re
from dataclasses import dataclass, replace

from gradc.backend import writer
from gradc.backend.array_api.lowerings import lowering_of

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Spelling:
    """The identifiers every generated function binds on entry: its namespace, float dtype and device."""
    xp: str = "xp"
    dtype: str = "dtype"
    device: str = "device"

    @classmethod
    def avoiding(cls, taken):
        """`xp`, `dtype`, `device`, each with underscores appended where an input or size has its name."""
        spelled = {}
        for field in ("xp", "dtype", "device"):
            name = field
            while name in taken:
                name += "_"
            spelled[field] = name
        return cls(**spelled)


class ArrayContext(writer.Context):
    """A Context that also writes the function's namespace, dtype and device into the arrays it makes."""

    SPECIAL = {"nan": 'float("nan")', "inf": 'float("inf")', "-inf": '-float("inf")'}

    def __init__(self, dims, arg_shapes=(), readable=False, spelling=Spelling(), numbers=frozenset()):
        super().__init__(dims, arg_shapes, readable)
        self.xp, self.dtype, self.device = spelling.xp, spelling.dtype, spelling.device
        self.numbers = numbers  # the names of the function's values that are Python numbers (`g_t1 = 1.0 / m`)

    def filled(self, function, shape):
        """`xp.zeros((n,), dtype=dtype, device=device)`: a new array in the function's dtype and device."""
        return f"{self.xp}.{function}({self.shape(shape)}, dtype={self.dtype}, device={self.device})"

    def array(self, text):
        """`text` as an array: as it is where it reads an array, `xp.asarray(...)` where it is a Python number
        (a constant, a size, or a value computed from them alone), which the standard's functions do not take."""
        if any(name not in self.dims.values() and name != "float" and name not in self.numbers
               for name in _NAME.findall(text)):
            return text
        return f"{self.xp}.asarray({text}, dtype={self.dtype}, device={self.device})"


class Writer(writer.Writer):
    def __init__(self, graph, plan, spelling, readable=False):
        super().__init__(graph, plan, readable=readable)
        self.spelling = spelling

    def context(self, dims, arg_shapes, readable):
        return ArrayContext(dims, arg_shapes, readable, self.spelling, self._numbers)

    @functools.cached_property
    def _number_nodes(self):
        """The values no input reaches, which are Python numbers: constants and sizes, and arithmetic of them."""
        order, arrays = self.graph.order(), set()
        for node in order:
            data = self.graph[node]
            if data["op"] == "input" or any(a in arrays for a in data["args"]):
                arrays.add(node)
        return frozenset(order) - arrays

    @functools.cached_property
    def _numbers(self):
        return frozenset(name for node, name in self.plan.names.items() if node in self._number_nodes)

    def lowering(self, op):
        """The op's Lowering, a format string made a function that also fills in `{xp}`, `{dtype}`, `{device}`;
        a function of the standard's called on Python numbers alone (sqrt(d) of a size, the flip of a scalar's
        adjoint 1.0) gets them as arrays, since the standard's functions take arrays (torch's sqrt refuses a
        float)."""
        found = lowering_of(op)
        lower = found.text
        if isinstance(lower, str):
            text = lower
            lower = lambda ctx, *operands, **attrs: text.format(  # noqa: E731
                *operands, **attrs, xp=ctx.xp, dtype=ctx.dtype, device=ctx.device)
        if op.operator:  # x + y of numbers is Python's own arithmetic
            return replace(found, text=lower)

        def on_arrays(ctx, *operands, **attrs):
            if operands and all(ctx.array(o) != o for o in operands):
                operands = [ctx.array(o) for o in operands]
            return lower(ctx, *operands, **attrs)
        return replace(found, text=on_arrays)

    def value(self, node):
        """The value as returned: a fresh array where it would be the caller's own (`x`, `x.T`, `X[0]`), an
        array of the namespace where it is a Python number."""
        name = self.ref(node)
        if self.graph.shape(node) and self.graph[self.memory(node)]["op"] == "input":
            return f"{self.spelling.xp}.asarray({name}, copy=True)"
        return self.as_array(node, name)

    def returned(self, node, of, roots):
        """A gradient as returned: an array of the inputs' namespace, dtype and device that aliases no input
        or other gradient (every line makes a new array, so only inputs, views of them and shared values copy).

        Args:
            of: the input whose gradient `node` is, or None.
            roots: how many outputs share each memory root (see `memory`).
        """
        alias = self.plan.aliases.get(of)
        name = alias.name if alias is not None and alias.value == node else self.ref(node)
        if self.graph.shape(node) == ():
            return self.as_array(node, name)
        root = self.memory(node)
        if self.graph[node]["op"] == "broadcast_to" or self.graph[root]["op"] == "input" or roots[root] > 1:
            return f"{self.spelling.xp}.asarray({name}, copy=True)"
        return name

    def as_array(self, node, name):
        """`name`, or `xp.asarray(name, ...)` where the node is a Python number: a constant, a size, or
        arithmetic of them (no input reaches it)."""
        if node not in self._number_nodes:
            return name
        spelled = self.spelling
        return f"{spelled.xp}.asarray({name}, dtype={spelled.dtype}, device={spelled.device})"
