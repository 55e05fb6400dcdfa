"""The IR: a networkx DiGraph of operations, built through one hash-consing constructor."""
import contextlib
from typing import NamedTuple

import networkx as nx

from gradc.errors import ShapeError
from gradc.ops import REGISTRY


class Span:
    """Where a node came from in the source: text plus 1-based line and 0-based column."""

    __slots__ = ("text", "line", "column")

    def __init__(self, text, line, column):
        self.text = " ".join(text.split())  # newlines collapsed: user text never leaves a comment
        self.line = line
        self.column = column

    def __repr__(self):
        return f"Span({self.text!r}, {self.line}, {self.column})"


class AdjointAlias(NamedTuple):
    """The adjoint of `node` is the existing value `adjoint`, handed over by `consumer`'s rule (`g_t1 = z`)."""
    node: int
    adjoint: int
    consumer: object


class PartialAlias(NamedTuple):
    """The k-th partial adjoint of `node` is the existing value `partial`, handed over by `consumer`'s rule."""
    node: int
    partial: int
    consumer: object
    k: int


class Graph:
    """Operations as nodes of an `nx.DiGraph`, each with `op`, `args`, `attrs`, `shape`, `span`, `name`.

    Node ids are consecutive ints, so creation order is a deterministic tie-break. `args` keeps
    operand order and repeats (`x * x` has args `(x, x)` and one edge). With `rewrite` set, every
    `add` first offers the new node to the rewrite rules and reuses an identical existing node:
    building a graph through it simplifies and eliminates common subexpressions in one pass.
    """

    def __init__(self, source="", rewrite=None, consing=True):
        self.nx = nx.DiGraph()
        self._nodes = {}  # node -> its attribute dict in self.nx, read without building a view each time
        self.source = source
        self.inputs = {}  # name -> node id, in order of first appearance
        self.outputs = []  # node ids: the value first, then any gradients
        self.rewrite = rewrite
        self.consing = consing
        self._by_key = {}
        self._span = None  # span given to nodes created while a rule or VJP runs
        self.origin = None  # the forward node whose derivative rule is running, if any (see `deriving`)
        self.aliases = []  # AdjointAlias records: adjoints that are existing values, named g_<node>
        self.partial_aliases = []  # PartialAlias records: the same for numbered partials, g_<node>_<k>

    def __len__(self):
        return self.nx.number_of_nodes()

    @contextlib.contextmanager
    def deriving(self, node):
        """Nodes built inside belong to `node`'s group: they come from its derivative rule (None: no group)."""
        outer, self.origin = self.origin, node
        try:
            yield
        finally:
            self.origin = outer

    def __getitem__(self, node):
        return self._nodes[node]

    def op(self, node):
        return REGISTRY[self._nodes[node]["op"]]

    def shape(self, node):
        return self._nodes[node]["shape"]

    def args(self, node):
        return self._nodes[node]["args"]

    def attrs(self, node):
        return dict(self._nodes[node]["attrs"])

    def add(self, op_name, args=(), span=None, name=None, **attrs):
        """Add (or find) the node `op_name(*args, **attrs)` and return its id."""
        op = REGISTRY[op_name]
        args = tuple(args)
        span = span or self._span
        shape = self._infer_shape(op, args, attrs, span)
        if self.rewrite is not None:
            outer, self._span = self._span, span
            try:
                replacement = self.rewrite(self, op_name, args, attrs, shape)
            finally:
                self._span = outer
            if replacement is not None:
                return replacement
        key = (op_name, args, tuple(sorted(attrs.items())))
        if self.consing and key in self._by_key:
            return self._by_key[key]
        node = len(self.nx)
        self.nx.add_node(node, op=op_name, args=args, attrs=key[2], shape=shape, span=span,
                         name=name, origin=self.origin, adjoint=None, partial=None, tangent=None)
        self._nodes[node] = self.nx.nodes[node]
        for arg in args:
            self.nx.add_edge(arg, node)
        self._by_key[key] = node
        return node

    def find(self, op_name, args=(), **attrs):
        """The node `op_name(*args, **attrs)` if this graph has it, else None (nothing is added)."""
        return self._by_key.get((op_name, tuple(args), tuple(sorted(attrs.items()))))

    def _infer_shape(self, op, args, attrs, span):
        arg_shapes = [self.shape(a) for a in args]
        try:
            return op.shape(*arg_shapes, **attrs)
        except ShapeError as error:
            if span is None:
                raise
            raise ShapeError(error.message, self.source, span.line, span.column) from None

    def input(self, name, shape=(), span=None, integer=False):
        """The input `name` (added at its first use); `integer`: it holds indices, which nothing differentiates."""
        if name not in self.inputs:
            flag = {"integer": True} if integer else {}
            self.inputs[name] = self.add("input", (), span=span, name=name, var=name, dims=tuple(shape), **flag)
        return self.inputs[name]

    def is_integer(self, node):
        """Whether `node` is an integer input (declared with `Int`)."""
        return self._nodes[node]["op"] == "input" and dict(self._nodes[node]["attrs"]).get("integer", False)

    def integer_inputs(self):
        """The names of the integer inputs, in input order."""
        return [name for name, node in self.inputs.items() if self.is_integer(node)]

    def const(self, value):
        return self.add("const", (), value=float(value))

    def value_of(self, node):
        """The constant a node holds, or None."""
        data = self._nodes[node]
        return dict(data["attrs"])["value"] if data["op"] == "const" else None

    def order(self, roots=None):
        """Node ids in a topological order that follows creation order, restricted to `roots`' ancestors."""
        roots = self.outputs if roots is None else roots
        needed = set(roots)
        stack = list(needed)
        while stack:  # one walk from all roots at once: linear in the graph's size
            for arg in self._nodes[stack.pop()]["args"]:
                if arg not in needed:
                    needed.add(arg)
                    stack.append(arg)
        return sorted(needed)  # ids grow with creation, and arguments are always created first

    def consumers(self, node):
        return sorted(self.nx.successors(node))

    def dump(self):
        """One node per line, like a jaxpr: `n4 = div(n1, n3) : ('n',)`; nodes numbered in order from n0."""
        order = self.order()
        number = {node: i for i, node in enumerate(order)}
        lines = []
        for node in order:
            data = self._nodes[node]
            attrs = ", ".join(f"{k}={v!r}" for k, v in data["attrs"])
            operands = ", ".join(f"n{number[a]}" for a in data["args"])
            inner = ", ".join(part for part in (operands, attrs) if part)
            lines.append(f"n{number[node]} = {data['op']}({inner}) : {data['shape']}")
        lines.append("out " + ", ".join(f"n{number[o]}" for o in self.outputs))
        return "\n".join(lines)


def rebuild(graph, rewrite, extra=None, first=()):
    """Copy `graph`'s outputs into a new graph built through `rewrite`; unreachable nodes are dropped.

    The nodes `first` (and what they need) are built before the others, so that rules building the rest find
    them (`Graph.find`). Returns the new graph and the mapping old id -> new id.
    """
    new = Graph(graph.source, rewrite=rewrite)
    mapping = {}
    claimed = set()  # new nodes that already took an old node's roles
    found = []  # (old node's data, the claimed node it became)
    for name, node in graph.inputs.items():  # inputs keep their order even when unused
        data = graph[node]
        mapping[node] = new.input(name, dict(data["attrs"])["dims"], span=data["span"], integer=graph.is_integer(node))
        claimed.add(mapping[node])
    early = graph.order(first) if first else []
    built_early = set(early)
    rest = [node for node in graph.order(list(graph.outputs) + list(extra or ())) if node not in built_early]
    for node in early + rest:  # both topological, and `early` holds all its own nodes' arguments
        if node in mapping:
            continue
        data = graph[node]
        new_args = [mapping[a] for a in data["args"]]
        with new.deriving(mapping.get(data["origin"])):  # what rules build for this node joins its group
            mapping[node] = new.add(data["op"], new_args, span=data["span"], name=data["name"],
                                    **dict(data["attrs"]))
        if mapping[node] in claimed:  # rewritten into a value that has roles of its own: name it by alias
            found.append((data, mapping[node]))
        else:
            claimed.add(mapping[node])
            copy_roles(data, new[mapping[node]], mapping)
    new.outputs = [mapping[o] for o in graph.outputs]
    new.aliases = [AdjointAlias(mapping[a.node], mapping[a.adjoint], mapping.get(a.consumer))
                   for a in graph.aliases if a.node in mapping and a.adjoint in mapping]
    new.partial_aliases = [PartialAlias(mapping[a.node], mapping[a.partial], mapping.get(a.consumer), a.k)
                           for a in graph.partial_aliases if a.node in mapping and a.partial in mapping]
    for data, target in found:
        if data["adjoint"] in mapping:
            new.aliases.append(AdjointAlias(mapping[data["adjoint"]], target, mapping.get(data["origin"])))
        elif data["partial"] is not None and data["partial"][0] in mapping:
            of, k = data["partial"]
            new.partial_aliases.append(PartialAlias(mapping[of], target, mapping.get(data["origin"]), k))
    return new, mapping



ROLES = ("name", "origin", "adjoint", "partial", "tangent")  # tangent: the node whose derivative it is


def copy_roles(old, new, mapping):
    """Carry a node's name and backward-pass roles to its rebuilt node, unless that one has its own."""
    if new["op"] == "input":
        return
    for role in ROLES:
        if new[role] is None and old[role] is not None:
            new[role] = remap(old[role], mapping)


def remap(role, mapping):
    if isinstance(role, tuple):  # (node, k): a numbered partial
        return (mapping.get(role[0]), role[1])
    return mapping.get(role) if isinstance(role, int) else role
