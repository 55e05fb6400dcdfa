"""The derivative as a formula: each input's gradient, simplified, printed as text or LaTeX (`gradc explain`).

A sub-expression used more than once (typically a forward value the derivative reuses, like s in
`s * (1 - s)` for s = sigmoid(x)) is named once in a `where` line; so is one the source named.
"""
from dataclasses import dataclass

from gradc.transform.derivatives import gradient_graph
from gradc.ops.reduce import sum_to_axes

ATOM, POWER, UNARY, PRODUCT, SUM, COMPARE = 5, 4, 3, 2, 1, 0  # binding strength, tightest first
LEAVES = frozenset({"input", "const", "size", "zeros"})
# Shape plumbing, implicit in a formula; broadcasting only where an elementwise op (or nothing) consumes it.
TRANSPARENT = frozenset({"broadcast_to", "expand_dims", "squeeze"})
POOL = ("r", "s", "u", "q", "p", "h", "k", "m")  # names for shared sub-expressions the source left unnamed


@dataclass(frozen=True)
class Piece:
    """Printed text and how tightly it binds."""
    text: str
    prec: int


def explain(fn, latex=False):
    """The derivative of `fn` (a CompiledFunction) with respect to each of its wrt inputs, one per line."""
    stages = fn.stages
    graph = gradient_graph(stages.simplified, stages.wrt)
    return formulas(graph, stages.wrt, latex)


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
        if node in uses and graph[node]["op"] not in LEAVES:
            for arg in graph.args(node):
                arg = printer.operand(node, arg)
                uses[arg] = uses.get(arg, 0) + 1
    taken = set(graph.inputs) | {d for n in graph.inputs.values() for d in graph.shape(n) if isinstance(d, str)}
    pool = (name for name in POOL + tuple(f"r{k}" for k in range(1, 1000)) if name not in taken)
    names = {}
    for node in sorted(uses):
        data = graph[node]
        if data["op"] in LEAVES or _trivial(graph, node):
            continue
        if data["name"] is not None and data["origin"] is None and data["name"] not in taken:
            names[node] = data["name"]
        elif uses[node] > 1:
            names[node] = next(pool)
        taken.add(names.get(node))
    return names


def _trivial(graph, node):
    """X.T, -x and x[i] of a leaf read as well as any name."""
    return graph[node]["op"] in ("transpose", "neg", "index") and graph[graph.args(node)[0]]["op"] in LEAVES


class Printer:
    """Prints graph nodes with the fewest parentheses their precedence allows."""

    def __init__(self, graph, latex=False):
        self.graph = graph
        self.latex = latex
        self.names = {}

    def resolve(self, node, skip=TRANSPARENT):
        """The node a transparent view stands for."""
        while self.graph[node]["op"] in skip:
            node = self.graph.args(node)[0]
        return node

    def operand(self, consumer, node):
        """What `consumer` shows for its operand `node`: a broadcast stays explicit under matmul and the like."""
        elementwise = self.graph.op(consumer).elementwise
        return self.resolve(node, TRANSPARENT if elementwise else TRANSPARENT - {"broadcast_to"})

    def print(self, node, top=False):
        return self.piece(node, top).text

    def piece(self, node, top=False):
        if node in self.names and not top:
            return Piece(self.identifier(self.names[node]), ATOM)
        data = self.graph[node]
        operands = [self.piece(self.operand(node, a)) for a in data["args"]]
        return FORMS[data["op"]](self, node, *operands, **dict(data["attrs"]))

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
        return (r" " if self.latex else " * ").join(str(d) for d in dims) or "1"

    def is_array(self, node):
        return self.graph.shape(node) != ()


# Forms: form(printer, node, *operand pieces, **attrs) -> Piece.
def infix(text, latex, prec, associative=False):
    def form(p, node, x, y):
        parts = (p.wrap(x, prec), latex if p.latex else text, p.wrap(y, prec if associative else prec + 1))
        return Piece(" ".join(part for part in parts if part), prec)
    return form


def _mul(p, node, x, y):
    if not p.latex:
        return infix("*", "", PRODUCT, associative=True)(p, node, x, y)
    a, b = (p.is_array(arg) for arg in p.graph.args(node))
    return infix("", r"\odot" if a and b else r"\cdot", PRODUCT, associative=True)(p, node, x, y)


def _div(p, node, x, y):
    if p.latex:
        return Piece(rf"\frac{{{x.text}}}{{{y.text}}}", ATOM)
    return infix("/", "", PRODUCT)(p, node, x, y)


def _pow(p, node, x, y):
    if p.latex:
        return Piece(f"{p.wrap(x, ATOM)}^{{{y.text}}}", POWER)
    return Piece(f"{p.wrap(x, ATOM)} ** {p.wrap(y, UNARY)}", POWER)


def call(text, latex=None):
    """f(x, y) in text; in LaTeX `latex` (default \\operatorname{text}) with the operands in parentheses."""
    def form(p, node, *operands, **attrs):
        default = DEFAULTS.get(p.graph[node]["op"], {})
        extra = [] if p.latex else [f"{k}={v!r}" for k, v in attrs.items() if v not in (None, False, default.get(k))]
        head = (latex or r"\operatorname{" + text.replace("_", r"\_") + "}") if p.latex else text
        inner = ", ".join([x.text for x in operands] + extra)
        return Piece(rf"{head}\left({inner}\right)" if p.latex else f"{head}({inner})", ATOM)
    return form


DEFAULTS = {"softmax": {"axis": -1}, "log_softmax": {"axis": -1}}  # attributes not worth printing


def _sum(p, node, x, *, axis, keepdims):
    if not p.latex:
        return call("sum")(p, node, x, axis=axis, keepdims=keepdims)
    below = "" if axis is None else rf"_{{\mathrm{{axis}}={axis}}}"
    return Piece(rf"\sum{below} {p.wrap(x, POWER)}", PRODUCT)


def _sum_to(p, node, x, *, shape):
    lead, kept = sum_to_axes(p.graph.shape(p.graph.args(node)[0]), shape)
    axes = lead + kept
    return _sum(p, node, x, axis=axes[0] if len(axes) == 1 else axes, keepdims=bool(kept))


def _transpose(p, node, x):
    return Piece(f"{p.wrap(x, ATOM)}^\\top" if p.latex else f"{p.wrap(x, ATOM)}.T", ATOM)


def _index(p, node, x, *, index):
    inside = ", ".join(map(str, index))
    return Piece(f"{p.wrap(x, ATOM)}_{{{inside}}}" if p.latex else f"{p.wrap(x, ATOM)}[{inside}]", ATOM)


def _neg(p, node, x):
    return Piece(f"-{p.wrap(x, UNARY)}", UNARY)


def _abs(p, node, x):
    return Piece(rf"\left|{x.text}\right|", ATOM) if p.latex else call("abs")(p, node, x)


def _mask(text, latex):
    """A 0/1 mask: the Iverson bracket [x > y] in LaTeX."""
    def form(p, node, x, y):
        if p.latex:
            return Piece(rf"\left[{x.text} {latex} {y.text}\right]", ATOM)
        return Piece(f"({p.wrap(x, SUM)} {text} {p.wrap(y, SUM)})", ATOM)
    return form


def _outer(p, node, a, b):
    if p.latex:
        return Piece(f"{p.wrap(a, ATOM)} {p.wrap(b, ATOM)}^\\top", PRODUCT)
    return call("outer")(p, node, a, b)


FORMS = {
    "input": lambda p, node, *, var, dims: Piece(p.identifier(var), ATOM),
    "const": lambda p, node, *, value: Piece(p.number(value), ATOM if value >= 0 else UNARY),
    "size": lambda p, node, *, dims: Piece(p.dims(dims), ATOM if len(dims) < 2 else PRODUCT),
    "zeros": lambda p, node, *, shape: Piece("0", ATOM),
    "add": infix("+", "+", SUM, associative=True),
    "accumulate": lambda p, node, *xs: Piece(" + ".join(p.wrap(x, SUM) for x in xs), SUM),
    "sub": infix("-", "-", SUM), "mul": _mul, "div": _div, "pow": _pow, "neg": _neg,
    "matmul": infix("@", "", PRODUCT), "outer": _outer, "transpose": _transpose, "index": _index,
    "exp": call("exp", r"\exp"), "log": call("log", r"\log"), "sin": call("sin", r"\sin"),
    "cos": call("cos", r"\cos"), "tan": call("tan", r"\tan"), "tanh": call("tanh", r"\tanh"),
    "sqrt": lambda p, node, x: Piece(rf"\sqrt{{{x.text}}}", ATOM) if p.latex else call("sqrt")(p, node, x),
    "sigmoid": call("sigmoid", r"\sigma"), "softplus": call("softplus"), "relu": call("relu"), "abs": _abs,
    "sign": call("sign"), "maximum": call("max", r"\max"), "minimum": call("min", r"\min"),
    "ge": _mask(">=", r"\ge"), "gt": _mask(">", ">"), "le": _mask("<=", r"\le"), "lt": _mask("<", "<"),
    "sum": _sum, "sum_to": _sum_to, "mean": call("mean"), "amax": call("max", r"\max"),
    "amin": call("min", r"\min"), "mul_no_nan": call("mul_no_nan"), "finite_or_zero": call("finite_or_zero"),
    "scatter": call("scatter"), "softmax": call("softmax"), "log_softmax": call("log_softmax"),
    "logsumexp": call("logsumexp"), "broadcast_to": call("broadcast_to"),
}
