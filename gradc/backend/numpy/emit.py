"""Scheduled graph -> module text: plain Line records rendered by the jinja2 templates in templates/."""
import functools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from gradc.version import __version__
from gradc.backend.numpy.lowerings import lowering_of
from gradc.backend.numpy.prologue import checks, describe_shapes, entry, python_floats, stays_python_float
from gradc.backend.numpy.reuse import plan_reuse
from gradc.ops.elementwise import COMPARISONS
from gradc.backend.numpy.schedule import INLINE, computed_reads, schedule

INLINE_MASKS = frozenset("is_" + c for c in COMPARISONS)  # bool arrays: a product with a count stays int


@dataclass(frozen=True)
class Line:
    """One statement: `target = expr  # comment` (assign), `# comment` (comment), or `expr` as is (raw)."""
    kind: str
    target: str = ""
    expr: str = ""
    comment: str = ""


class Context:
    """What an op's emitter may ask: operand shapes, and how to write literals, shapes and axes."""

    def __init__(self, dims, arg_shapes=()):
        self.dims = dims
        self.arg_shapes = arg_shapes

    @staticmethod
    def literal(value):
        if value != value or value in (float("inf"), float("-inf")):
            return {"nan": "np.nan", "inf": "np.inf", "-inf": "-np.inf"}[repr(value)]
        return repr(float(value))

    def dim(self, dim):
        return self.dims[dim] if isinstance(dim, str) else str(dim)

    def shape(self, dims):
        parts = [self.dim(d) for d in dims]
        return f"({parts[0]},)" if len(parts) == 1 else "(" + ", ".join(parts) + ")"

    def size(self, dims):
        return " * ".join(self.dim(d) for d in dims) or "1"

    @staticmethod
    def axes(axes):
        if isinstance(axes, int):
            return str(axes)
        return str(axes[0]) if len(axes) == 1 else "(" + ", ".join(str(a) for a in axes) + ")"


def _template_folder():
    """gradc/templates: in a wheel the folder itself, in a checkout a link to the top-level templates/."""
    return str(Path(__file__).parents[2] / "templates")


@functools.lru_cache(maxsize=1)
def _environment():
    loader = jinja2.FileSystemLoader(_template_folder())
    return jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)


def emit(graph, wrt, command, functions=(), dtype=None):
    """Render the module computing `graph`'s outputs (the value, then one gradient per name in `wrt`).

    Args:
        functions: further functions (`emit_derived.Function` records: jvp, vjp, ...) to append.
        dtype: the float type of the returned gradients (float64 unless compiled from float32 examples).
    """
    plan = schedule(graph)
    writer = _Writer(graph, plan, np.dtype(dtype or np.float64).name)
    writer.python_floats = python_floats(graph, writer.dtype, bool(functions))
    gradient = graph.shape(graph.outputs[0]) == ()  # a non-scalar output has none; with wrt=() it is {}
    writer.reuse = plan_reuse(graph, plan.forward, {graph.outputs[0]})
    forward = _flatten(writer.line(node) for node in plan.forward)
    keep = set(graph.outputs) | {alias.value for alias in [*plan.aliases.values(), *plan.partial_aliases.values()]}
    writer.reuse = plan_reuse(graph, plan.forward + plan.backward, keep) if gradient else {}
    shared = _flatten(writer.line(node) for node in plan.forward)  # value_and_grad's forward part
    backward = writer.backward(plan.backward) if gradient and wrt else []
    writer.reuse = {}
    arrays = [name for name, node in graph.inputs.items() if graph.shape(node)]
    params = ", ".join(graph.inputs)
    text = _environment().get_template("module.py.j2").render(
        title=_docstring_safe(graph.source), source=_docstring_safe(graph.source), params=params,
        version=__version__, shapes=describe_shapes(graph), command=_docstring_safe(command),
        inputs=repr(tuple(graph.inputs)), gradient=gradient, wrt_tuple=repr(tuple(wrt)),
        functions=list(functions),
        checks=checks(graph, plan, writer.dtype), array_params=", ".join(arrays),
        returned_inputs=", ".join(arrays + list(plan.dims.values())), entry=entry(graph, plan, arrays, writer.dtype, writer.python_floats),
        dtype=writer.dtype, dims=", ".join(plan.dims.values()),
        forward=forward, shared=shared, backward=backward, value=writer.value(graph.outputs[0]),
        gradients=writer.gradients(wrt),
    )
    text = _with_helpers(text)
    compile(text, "<generated module>", "exec")  # valid Python before anyone sees it (3x faster than ast.parse)
    return text


@functools.lru_cache(maxsize=None)
def _helpers():
    """{name: source} of the module-level helpers in templates/helpers.py.j2."""
    text = (Path(_template_folder()) / "helpers.py.j2").read_text(encoding="utf-8")
    functions = re.split(r"^(?=def )", text.split("#}", 1)[1].strip(), flags=re.MULTILINE)[1:]
    return {source[4:source.index("(")]: source.rstrip() for source in functions}


def _with_helpers(text):
    """The module with the helpers its lines call placed after its entry helpers, before `forward`."""
    used = [source for name, source in _helpers().items() if f"{name}(" in text]
    if not used:
        return text
    anchor = text.index("\n\n\ndef forward(")
    return text[:anchor] + "".join(f"\n\n\n{source}" for source in used) + text[anchor:]


class _Writer:
    def __init__(self, graph, plan, dtype="float64"):
        self.graph = graph
        self.plan = plan
        self.dtype = dtype  # of the returned gradients
        self.python_floats = False  # scalar inputs enter as Python floats (see entry.python_floats)
        self._known_floats = {}
        self.reuse = {}  # node -> the operand whose buffer its line writes into (see reuse.py)

    def ref(self, node):
        """How an operand is written: its name, or in place for constants, sizes and inline views."""
        data = self.graph[node]
        if data["op"] in INLINE and data["op"] != "input":
            return self.expression(node)
        return self.plan.names[node]

    def expression(self, node):
        graph = self.graph
        op = graph.op(node)
        args = graph.args(node)
        operands = self.operands(node)
        if op.name == "pow" and operands[0].startswith("-"):
            operands[0] = f"({operands[0]})"
        if op.name == "accumulate":
            operands = self.partial_names(node, operands)
        attrs = graph.attrs(node)
        text = lowering_of(op).text
        if isinstance(text, str):
            return text.format(*operands, **attrs)
        return text(Context(self.plan.dims, [graph.shape(a) for a in args]), *operands, **attrs)

    def operands(self, node):
        """How `node`'s operands are written: a count is `n`, or `float(n)` where nothing else makes it float.

        NOTE: dimension sizes are Python ints; `-n`, `m * (t3 > 0.0)` or a broadcast `n` would be int arrays,
        which a float product cannot be written into and which would come back as int gradients. A count met
        by a division, or by an operand that is neither a count nor a bool mask, gives a float already.
        """
        graph = self.graph
        args = graph.args(node)
        operands = [self.ref(a) for a in args]
        counts = [i for i, a in enumerate(args) if graph[a]["op"] == "size"]
        if not counts or graph[node]["op"] == "div":
            return operands
        floats = any(graph[a]["op"] != "size" and graph[a]["op"] not in INLINE_MASKS for a in args)
        if graph[node]["op"] in ("add", "sub", "mul", "accumulate") and floats:
            return operands
        return [f"float({text})" if i in counts else text for i, text in enumerate(operands)]

    def in_place(self, node, buffer):
        """`np.subtract(t1, y, out=t1)`: the op's ufunc writing into the buffer of an operand that dies here."""
        operands = self.operands(node)
        if self.graph[node]["op"] == "accumulate":
            operands = self.partial_names(node, operands)
        return f"np.{lowering_of(self.graph.op(node)).ufunc}({', '.join(operands)}, out={self.ref(buffer)})"

    def partial_names(self, node, operands):
        """A branch sum's operands, written `g_x_k` where the k-th partial is an existing value."""
        named = self.plan.partial_aliases
        return [named[node, k].name if (node, k) in named else text for k, text in enumerate(operands, 1)]

    def line(self, node, comment=None):
        target = self.plan.names[node]
        expr = self.expression(node) if node not in self.reuse else self.in_place(node, self.reuse[node])
        span = self.graph[node]["span"]
        if comment is None:
            comment = span.text if span is not None else ""
        if isinstance(expr, list):  # a multi-statement emission: its first line assigns the target
            first, *rest = (statement.format(target=target) for statement in expr)
            return [Line("assign", target, first.split(" = ", 1)[1], comment)] + [
                Line("raw", expr=statement) for statement in rest]
        return Line("assign", target, expr, comment)

    def backward(self, nodes, seed="1"):
        """The backward lines, grouped under the forward line each group differentiates.

        Groups come in the order differentiation visited them (later forward nodes first). An alias
        `g_t1 = z` closes the group of the consumer that handed it over, or follows the line of its value
        if that comes later; a numbered partial comes no later than the branch sum that adds it up.
        """
        graph = self.graph
        names = self.plan.names
        groups, partials = {}, {}  # consumer -> alias lines; branch sum -> its partials' alias lines
        for alias in self.plan.aliases.values():
            line = Line("assign", alias.name, self.ref(alias.value))
            groups.setdefault(alias.consumer if alias.consumer in names else None, []).append((line, alias.value))
        for (total, _), alias in self.plan.partial_aliases.items():
            of = graph[total]["adjoint"]
            handed = alias.consumer in names and alias.consumer != of  # not when rewriting merged them
            path = f"path {self.ref(of)} -> {self.ref(alias.consumer)}" if handed else ""
            line = Line("assign", alias.name, self.ref(alias.value), path)
            groups.setdefault(alias.consumer if alias.consumer in names else None, []).append((line, alias.value))
            partials.setdefault(total, []).append((line, alias.value))
        unwritten, done, waiting = set(nodes), set(), {}

        def take(aliases):
            """The alias lines whose values exist by now; the others wait for the line they need."""
            ready = []
            for line, value in aliases:
                if id(line) in done:
                    continue
                blocker = self.unwritten_read(value, unwritten)
                if blocker is not None:
                    waiting.setdefault(blocker, []).append((line, value))
                    continue
                done.add(id(line))
                ready.append(line)
            return ready

        lines = [Line("comment", comment=f"backward, seeded with df/d{self.ref(graph.outputs[0])} = {seed}")]
        group = None
        for node in nodes:
            origin = graph[node]["origin"]
            if origin in names and origin != group:
                lines += take(groups.pop(group, []))
                for consumer in sorted((c for c in groups if c is not None and c > origin), reverse=True):
                    lines += [Line("comment", comment=self.heading(consumer, None))] + take(groups.pop(consumer))
                group = origin
                lines.append(Line("comment", comment=self.heading(origin, graph[node]["op"])))
            lines += take(partials.get(node, []))
            lines.append(self.line(node, self.note(node)))
            unwritten.discard(node)
            lines += take(waiting.pop(node, []))
        lines += take(groups.pop(group, []))
        for consumer in sorted((c for c in groups if c is not None), reverse=True):
            lines += [Line("comment", comment=self.heading(consumer, None))] + take(groups[consumer])
        lines += take(groups.get(None, []))
        return _flatten(lines)

    def unwritten_read(self, value, unwritten):
        """A line in `unwritten` that `value` needs: itself, or for a value written in place (`t5.T`), what it
        reads; None when everything it needs is written."""
        if value in unwritten:
            return value
        if self.graph[value]["op"] in INLINE:
            return next((read for read in computed_reads(self.graph, value) if read in unwritten), None)
        return None

    def heading(self, origin, op):
        name = self.ref(origin)
        if op == "accumulate":
            return f"{name} is used more than once: sum its partials"
        if self.graph[origin]["op"] in INLINE:
            return name
        expression = self.expression(origin)
        if isinstance(expression, list):  # written in several statements: name the op instead
            operands = ", ".join(self.ref(a) for a in self.graph.args(origin))
            expression = f"{self.graph[origin]['op']}({operands})"
        return f"{name} = {expression}"

    def note(self, node):
        data = self.graph[node]
        if node in self.plan.partial_of and data["origin"] in self.plan.names:
            return f"path {self.ref(self.plan.partial_of[node][0])} -> {self.ref(data['origin'])}"
        if data["op"] == "sum_to":
            return "summed over the broadcast axes"
        return ""

    def value(self, node):
        """The value as returned: a fresh array where it would be the caller's own (`x`, `x.T`, `X[0]`)."""
        name = self.ref(node)
        if self.graph.shape(node) and self.graph[self.memory(node)]["op"] == "input":
            return f"np.array({name})"
        return name

    def gradients(self, wrt):
        """(input name, returned expression) for each gradient output."""
        outputs = self.graph.outputs
        roots = Counter(self.memory(o) for o in outputs)
        return [(name, self.returned(node, self.graph.inputs[name], roots))
                for name, node in zip(wrt, outputs[1:])]

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

    def memory(self, node):
        """The node whose array `node` may be a view of."""
        while self.graph.op(node).view:
            node = self.graph.args(node)[0]
        return node


def _flatten(lines):
    flat = []
    for line in lines:
        flat.extend(line if isinstance(line, list) else [line])
    return flat


def _docstring_safe(text, limit=300):
    """`text` on one line, shortened past `limit` characters, with nothing that could end the docstring."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit - 5] + " ..."
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')