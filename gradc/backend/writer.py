"""Graph nodes -> Line records: how each line of a generated function is written, one node at a time.

What every backend shares: naming, ordering, the backward groups and their comments. What a backend's
namespace decides (its lowerings, how a value is returned, how a line writes in place) a subclass says:
gradc/backend/numpy/writer.py, gradc/backend/array_api/writer.py.
"""
import re
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field, replace

from gradc import dimensions
from gradc.backend.schedule import INLINE, computed_reads
from gradc.ops import REGISTRY

# The bool masks written inside their product (g * (x > 0.0)): a product of a count and a mask stays an int.
SELECTS = "selects"  # a where that selects a node's partials from both branches (transform/differentiate.py)
INLINE_MASKS = frozenset(name for name, op in REGISTRY.items() if op.inline and not op.differentiable)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TIMES = {2: "twice", 3: "three times"}


@dataclass(frozen=True)
class Line:
    """One statement: `target = expr  # comment` (assign), `# comment` (comment), or `expr` as is (raw).

    An assignment may need further statements to finish its value (`follow`: a scatter's `t[0] = g`), and
    may call module-level helpers (`helpers`: `_t_matmul`); `keep` marks one that checks its inputs, which
    stays even where nothing reads its name, and a comment that titles the lines after it (not a group's
    heading); `spans` says the comment is the source segment the line computes; `note` is said after it
    (that the line writes over a value the source named).
    """
    kind: str
    target: str = ""
    expr: str = ""
    comment: str = ""
    follow: tuple = ()
    helpers: tuple = ()
    keep: bool = False
    spans: bool = False
    note: str = ""

    @property
    def said(self):
        """What the line's comment says: the comment, then the note."""
        return f"{self.comment}; {self.note}" if self.comment and self.note else self.comment or self.note


@dataclass(frozen=True)
class Basis:
    """`before`, then `for index in over: body`, then `after`: a Jacobian or Hessian filled per basis vector."""
    before: list
    index: str
    over: str  # what the loop runs over: `np.ndindex((m, n))`, `range(m * n)`
    body: list
    after: list = field(default_factory=list)


@dataclass(frozen=True)
class Function:
    """One generated function: `def name(params): doc; body; loops; return result`."""
    name: str
    params: str
    doc: str
    body: list
    result: str
    loops: list = field(default_factory=list)


class Context:
    """What an op's emitter may ask: operand shapes, and how to write literals, shapes and axes."""

    SPECIAL = {}  # repr of nan, inf, -inf -> how the backend's module writes it

    def __init__(self, dims, arg_shapes=(), readable=False):
        self.dims = dims
        self.arg_shapes = arg_shapes
        self.readable = readable  # write what a textbook would (`X.T @ g`), not a helper measured faster
        self.helpers = []  # the module-level helpers the lowering called for (see `helper`)

    def helper(self, name):
        """`name`, a module-level helper (templates/helpers.py.j2) that the lowering's text calls."""
        self.helpers.append(name)
        return name

    @classmethod
    def literal(cls, value):
        if value != value or value in (float("inf"), float("-inf")):
            return cls.SPECIAL[repr(value)]
        return repr(float(value))

    def dim(self, dim, operand=False):
        """A dimension as the expression computing it from the module's size variables (n, d*n, n - 1)."""
        return dimensions.text(dim, self.dims.__getitem__, operand)

    def shape(self, dims):
        parts = [self.dim(d) for d in dims]
        return f"({parts[0]},)" if len(parts) == 1 else "(" + ", ".join(parts) + ")"

    def size(self, dims):
        return " * ".join(self.dim(d, operand=True) for d in dims) or "1"

    @staticmethod
    def axes(axes):
        if isinstance(axes, int):
            return str(axes)
        return str(axes[0]) if len(axes) == 1 else "(" + ", ".join(str(a) for a in axes) + ")"


class Writer(ABC):
    """Writes the lines of one generated function of `graph`, named and ordered by `plan` (a Schedule).

    A backend's subclass says how its namespace writes an op (`lowering`, `context`), the value (`value`) and
    a gradient (`returned`) as returned, and, where it passes a `reuse` plan, a line into a dying buffer
    (`in_place`).
    """

    context = Context  # what the lowerings are handed: the backend's subclass of Context

    def __init__(self, graph, plan, dtype="float64", python_floats=False, reuse=None, readable=False):
        self.graph = graph
        self.plan = plan
        self.dtype = dtype  # of the returned gradients
        self.python_floats = python_floats  # scalar inputs enter as Python floats (see prologue.python_floats)
        self._known_floats = {}
        self.reuse = reuse or {}  # node -> the operand whose buffer its line writes into (see reuse.py)
        self.readable = readable  # each backward line commented with its chain-rule step
        self._derivatives = None  # backward name -> how the chain rule calls it (`dL/dh`), when readable
        self._steps = {}  # a backward temporary's name -> its step (`dL/dt5 * p`), spelled out where it is read

    def ref(self, node):
        """How an operand is written: its name, or in place for constants, sizes and inline views."""
        data = self.graph[node]
        if data["op"] in INLINE and data["op"] != "input":
            return self.expression(node)
        return self.plan.names[node]

    def expression(self, node, helpers=None):
        """`node`'s expression (or list of statements); the helpers it calls are appended to `helpers`."""
        graph = self.graph
        op = graph.op(node)
        args = graph.args(node)
        operands = self.operands(node)
        if op.name == "accumulate":
            operands = self.partial_names(node, operands)
        attrs = graph.attrs(node)
        lowering = self.lowering(op)
        if helpers is not None:
            helpers.extend(lowering.helpers)
        if isinstance(lowering.text, str):
            return lowering.text.format(*operands, **attrs)
        context = self.context(self.plan.dims, [graph.shape(a) for a in args], self.readable)
        text = lowering.text(context, *operands, **attrs)
        if helpers is not None:
            helpers.extend(context.helpers)
        return text

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

    @abstractmethod
    def lowering(self, op):
        """The backend's Lowering record of `op`."""

    def partial_names(self, node, operands):
        """A branch sum's operands, written `g_x_k` where the k-th partial is an existing value."""
        named = self.plan.partial_aliases
        return [named[node, k].name if (node, k) in named else text for k, text in enumerate(operands, 1)]

    def line(self, node, comment=None):
        target = self.plan.names[node]
        helpers = []
        if node in self.reuse:
            expr = self.in_place(node, self.reuse[node])
        else:
            expr = self.expression(node, helpers)
        span = self.graph[node]["span"]
        spans = comment is None and span is not None
        if comment is None:
            comment = span.text if span is not None else ""
        helpers = tuple(dict.fromkeys(helpers))
        note = self.overwrites(self.reuse[node]) if node in self.reuse else ""
        if isinstance(expr, list):  # a multi-statement emission: its first line assigns the target
            first, *rest = (statement.format(target=target) for statement in expr)
            return Line("assign", target, first.split(" = ", 1)[1], comment, tuple(rest), helpers, spans=spans,
                        note=note)
        return Line("assign", target, expr, comment, helpers=helpers, spans=spans, note=note)

    def overwrites(self, buffer):
        """What a line writing into `buffer` says: a value the source named (`h`, `p`) is overwritten in
        place only with a comment saying so."""
        data = self.graph[buffer]
        named = data["name"] is not None and data["origin"] is None and data["adjoint"] is None \
            and data["tangent"] is None and buffer not in self.plan.partial_of
        return f"in place: {self.plan.names[buffer]} is not read after this" if named else ""

    def through(self, alias):
        """How an adjoint alias is written: its value, or readably the adjoint it came through, where that is
        the same value (`g_x = g_t1`, as the lecture's `dx = dq`, not `g_x = z`)."""
        upstream = self.plan.aliases.get(alias.consumer)
        if self.readable and upstream is not None and upstream is not alias and upstream.value == alias.value:
            return upstream.name
        return self.ref(alias.value)

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
            line = self.chained(Line("assign", alias.name, self.through(alias)))
            groups.setdefault(alias.consumer if alias.consumer in names else None, []).append((line, alias.value))
        for (total, _), alias in self.plan.partial_aliases.items():
            of = graph[total]["adjoint"]
            handed = alias.consumer in names and alias.consumer != of  # not when rewriting merged them
            path = f"path {self.ref(of)} -> {self.ref(alias.consumer)}" if handed else ""
            line = self.chained(Line("assign", alias.name, self.ref(alias.value), path))
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

        value = self.ref(graph.outputs[0])
        title = f"backward, seeded with {'dL' if self.readable else 'df'}/d{value} = {seed}"
        lines = [Line("comment", comment=title + (f" (L is {value})" if self.readable else ""), keep=True)]
        group = None
        for node in nodes:
            origin = graph[node]["origin"]
            if origin in names and origin != group:
                lines += take(groups.pop(group, []))
                for consumer in sorted((c for c in groups if c is not None and c > origin), reverse=True):
                    lines += [Line("comment", comment=self.heading(consumer, None))] + take(groups.pop(consumer))
                group = origin
                if not (self.readable and graph[node]["op"] == "accumulate"):  # said on the sum's line instead
                    lines.append(Line("comment", comment=self.heading(origin, _summing(graph, node))))
            lines += take(partials.get(node, []))
            lines.append(self.chained(self.line(node, self.note(node)), node))
            unwritten.discard(node)
            lines += take(waiting.pop(node, []))
        lines += take(groups.pop(group, []))
        for consumer in sorted((c for c in groups if c is not None), reverse=True):
            lines += [Line("comment", comment=self.heading(consumer, None))] + take(groups[consumer])
        lines += take(groups.get(None, []))
        return self.parts(lines) if self.readable else lines

    def parts(self, lines):
        """The backward lines with each uncommented temporary (a local derivative, `t10 = 1.0 - p`) saying which
        step it is part of: the first derivative line after it that reads it, directly or through others."""
        derivatives = self.derivatives()
        done = []
        for i, line in enumerate(lines):
            if line.kind == "assign" and not line.comment and line.target not in derivatives:
                reads = {line.target}
                for later in lines[i + 1:]:
                    if later.kind == "assign" and reads & set(_NAME.findall(later.expr)):
                        if later.target in derivatives:
                            line = replace(line, comment=f"part of {derivatives[later.target]}")
                            break
                        reads.add(later.target)
            done.append(line)
        return done

    def chained(self, line, node=None):
        """`line` with its chain-rule step as its comment, when readable: `g_h = g_z @ w2.T  # dL/dh = dL/dz @ w2.T`;
        a branch sum says how often its value is used."""
        if not self.readable:
            return line
        if node is not None and self.graph[node]["op"] == "accumulate" and self.graph[node]["adjoint"] is not None:
            uses = len(self.graph.args(node))
            name = self.ref(self.graph[node]["adjoint"])
            return replace(line, comment=f"{name} is used {_TIMES.get(uses, f'{uses} times')}: sum its partials")
        derivatives, steps = self.derivatives(), self._steps
        step = _NAME.sub(lambda m: derivatives.get(m.group()) or steps.get(m.group(), m.group()), line.expr)
        if line.target in derivatives:
            step = f"{derivatives[line.target]} = {step}"
        else:
            if len(step) <= 40 and not line.follow:
                steps[line.target] = f"({step})" if " " in step else step
            if "dL/d" not in step:
                return line  # a local derivative: `parts` says which step it is part of
        return replace(line, comment=f"{step}; {line.comment}" if line.comment else step)

    def derivatives(self):
        """Backward name -> its name in the chain rule: `g_h` is `dL/dh`, the partial `g_x_1` `dL/dx (via t2)`."""
        if self._derivatives is not None:
            return self._derivatives
        graph, names, plan = self.graph, self.plan.names, self.plan
        found = {}
        for node in plan.backward:
            of = graph[node]["adjoint"]
            if node in plan.partial_of:
                of, k = plan.partial_of[node]
                consumer = graph[node]["origin"]
                via = f"via {names[consumer]}" if consumer in names and consumer != of else f"part {k}"
                found[names[node]] = f"dL/d{names[of]} ({via})"
            elif of is not None and of in names and names[node].startswith("g_"):
                found[names[node]] = f"dL/d{names[of]}"
        for of, alias in plan.aliases.items():
            found[alias.name] = f"dL/d{names[of]}"
        for (total, k), alias in plan.partial_aliases.items():
            of = graph[total]["adjoint"]
            via = f"via {names[alias.consumer]}" if alias.consumer in names and alias.consumer != of else f"part {k}"
            found[alias.name] = f"dL/d{names[of]} ({via})"
        self._derivatives = found
        return found

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
        if op == SELECTS:
            return f"{name} is used in both branches of a where: select its partials"
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

    @abstractmethod
    def value(self, node):
        """The value as returned by the generated function."""

    def gradients(self, wrt):
        """(input name, returned expression) for each gradient output."""
        outputs = self.graph.outputs
        roots = Counter(self.memory(o) for o in outputs)
        return [(name, self.returned(node, self.graph.inputs[name], roots))
                for name, node in zip(wrt, outputs[1:])]

    @abstractmethod
    def returned(self, node, of, roots):
        """A gradient as returned (see the backends' writers)."""

    def memory(self, node):
        """The node whose array `node` may be a view of."""
        while self.graph.op(node).view:
            node = self.graph.args(node)[0]
        return node


def _summing(graph, node):
    """The op of `node`, or SELECTS where it is a where selecting the partials of the node it is the adjoint of."""
    op = graph[node]["op"]
    return SELECTS if op == "where" and graph[node]["adjoint"] == graph[node]["origin"] is not None else op
