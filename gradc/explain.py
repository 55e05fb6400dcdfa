"""The derivative as a formula: each input's gradient, simplified, printed as text or LaTeX (`gradc explain`).

A sub-expression used more than once (typically a forward value the derivative reuses, like s in
`s * (1 - s)` for s = sigmoid(x)) is named once in a `where` line; so is one the source named.
"""
import string

from gradc import dimensions
from gradc.cluster.separability import split
from gradc.ops.formula import ALWAYS, ATOM, PRECEDENCE, Piece
from gradc.transform.derivatives import gradient_graph

POOL = ("r", "s", "u", "q", "p", "h", "k", "m")  # names for shared sub-expressions the source left unnamed


def explain(fn, latex=False):
    """The derivative of `fn` (a CompiledFunction) with respect to each of its wrt inputs, one per line."""
    stages = fn.stages
    graph = gradient_graph(stages.simplified, stages.wrt)
    return formulas(graph, stages.wrt, latex)


def separability(fn):
    """What `fn.separable` means in a sentence (`gradc explain` prints it), or "" for a loss that is no sum over
    rows: `separable in n: a function of sums over the rows of X, y, so Dask chunks of rows along n ...`."""
    if not fn.separable:
        return ""
    graph = fn.stages.parsed
    parts = []
    for dim in fn.separable:
        found = split(graph, dim)
        kind = "a sum (or mean) over" if found.single else "a function of sums over"
        parts.append(f"separable in {dim}: {kind} the rows of {', '.join(found.data)}, so Dask arrays of them "
                     f"chunked along {dim} are computed chunk by chunk where they live (gradc.cluster)")
    return "\n".join(parts)


def formulas(graph, wrt, latex=False):
    """`d/dw = ...` for each gradient output of `graph`, then `where r = ...` for each named sub-expression."""
    printer = Printer(graph, latex)
    roots = [printer.resolve(node) for node in graph.outputs[1:]]
    printer.names = _shared(graph, roots, printer)
    lines = [f"{printer.derivative(name)} = {printer.print(root)}" for name, root in zip(wrt, roots)]
    where = r"\text{where }" if latex else "where"
    for k, (node, name) in enumerate(sorted(printer.names.items())):
        lead = where if k == 0 else (rf"\phantom{{{where}}}" if latex else " " * len(where))
        lines.append(f"{lead} {printer.identifier(name)} = {printer.print(node, top=True)}")
    return "\n".join(lines)


def _shared(graph, roots, printer):
    """Node -> name for every sub-expression used twice or more, or named in the source."""
    uses = {}
    for root in dict.fromkeys(roots):
        uses[root] = uses.get(root, 0) + 1
    for node in reversed(graph.order(roots)):
        if node in uses and not graph.op(node).leaf:
            for arg in graph.args(node):
                arg = printer.operand(node, arg)
                uses[arg] = uses.get(arg, 0) + 1
    taken = set(graph.inputs) | {d for n in graph.inputs.values() for d in graph.shape(n) if isinstance(d, str)}
    pool = (name for name in POOL + tuple(f"r{k}" for k in range(1, 1000)) if name not in taken)
    names = {}
    for node in sorted(uses):
        data = graph[node]
        if graph.op(node).leaf or _trivial(graph, node):
            continue
        if data["name"] is not None and data["origin"] is None and data["name"] not in taken:
            names[node] = data["name"]
        elif uses[node] > 1:
            names[node] = next(pool)
        taken.add(names.get(node))
    return names


def _trivial(graph, node):
    """X.T, -x and x[i] of a leaf read as well as any name."""
    return graph.op(node).formula.terse and graph.op(graph.args(node)[0]).leaf


class Printer:
    """Prints graph nodes with each op's formula (gradc/ops/formula.py) and the fewest parentheses precedence allows."""

    def __init__(self, graph, latex=False):
        self.graph = graph
        self.latex = latex
        self.names = {}

    def resolve(self, node, under_elementwise=True):
        """The node a transparent view stands for (a broadcast only where an elementwise op, or nothing, reads it)."""
        while self._transparent(node, under_elementwise):
            node = self.graph.args(node)[0]
        return node

    def _transparent(self, node, under_elementwise):
        transparent = self.graph.op(node).formula.transparent
        return transparent == ALWAYS or bool(transparent) and under_elementwise

    def operand(self, consumer, node):
        """What `consumer` shows for its operand `node`: a broadcast stays explicit under matmul and the like."""
        return self.resolve(node, self.graph.op(consumer).elementwise)

    def print(self, node, top=False):
        return self.piece(node, top).text

    def piece(self, node, top=False):
        if node in self.names and not top:
            return Piece(self.identifier(self.names[node]), ATOM)
        operands = [self.piece(self.operand(node, a)) for a in self.graph.args(node)]
        return self.form(self.graph.op(node).formula, node, *operands, **self.graph.attrs(node))

    def form(self, formula, node, *operands, **attrs):
        """`node` printed by `formula`: its template filled in, or its form function called."""
        form, prec = formula.form(self.latex)
        if callable(form):
            return form(self, node, *operands, **attrs)
        return Piece(_Template(self, node, operands, attrs).format(form), prec)

    def arguments(self, node, operands, attrs):
        """`x, axis=1`: the operands, then in text the attributes that are neither unset nor the default."""
        defaults = dict(self.graph.op(node).keywords)
        shown = [] if self.latex else [f"{k}={v!r}" for k, v in attrs.items()
                                       if not (v is None or v is False or k in defaults and v == defaults[k])]
        return ", ".join([x.text for x in operands] + shown)

    def wrap(self, piece, need):
        if piece.prec >= need:
            return piece.text
        return rf"\left({piece.text}\right)" if self.latex else f"({piece.text})"

    def identifier(self, name):
        if not self.latex or len(name) == 1:
            return name
        return r"\mathrm{" + name.replace("_", r"\_") + "}"

    def derivative(self, name):
        if self.latex:
            return rf"\frac{{\partial f}}{{\partial {self.identifier(name)}}}"
        return f"d/d{name}"

    def number(self, value):
        return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)

    def dims(self, dims):
        """A count of elements: n * d, (n - 1) * d; in LaTeX n d."""
        texts = [dimensions.text(d, operand=len(dims) > 1) for d in dims]
        return " ".join(t.replace("*", " ") for t in texts) if self.latex else " * ".join(texts) or "1"

    def is_array(self, node):
        return self.graph.shape(node) != ()


class _Template(string.Formatter):
    """A formula template filled in: `{0:product}` wraps operand 0 as a product needs, `{index}` is an attribute."""

    def __init__(self, printer, node, operands, attrs):
        self.printer = printer
        self.values = {"arguments": printer.arguments(node, operands, attrs), **attrs}
        self.operands = operands

    def format(self, template):
        return self.vformat(template, self.operands, self.values)

    def format_field(self, value, spec):
        if isinstance(value, Piece):
            return self.printer.wrap(value, PRECEDENCE[spec]) if spec else value.text
        if isinstance(value, tuple):
            return ", ".join(map(str, value))
        return format(value, spec)
