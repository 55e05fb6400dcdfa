"""The numbers on the pictures: each node's value, its adjoint df/dnode, and the gradient along each edge.

Node adjoints are read from the backward nodes of the compiled graph (what the generated code computes).
The gradient along one edge, consumer -> operand, is that consumer's own contribution: its VJP rule run
on its adjoint, in a scratch graph evaluated with the values at the point. Where an operand is used
more than once its contributions are summed, which is the branch sum the picture draws.
"""
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from gradc.backend.interpret import evaluate
from gradc.graph import Graph
from gradc.ops import Value


@dataclass
class Flows:
    """The backward pass of a forward graph, by node and by edge.

    Attributes:
        adjoint: forward node -> df/dnode (an array of the node's shape at the point), where it has one.
        edge: (consumer, k) -> the gradient the consumer sends back to its k-th operand.
        uses: operand -> the (consumer, k) that send it a gradient; more than one means a branch sum.
        summed: forward node -> the compiled graph's node that sums its partials (an `accumulate`), if any.
    """

    adjoint: dict = field(default_factory=dict)
    edge: dict = field(default_factory=dict)
    uses: dict = field(default_factory=dict)
    summed: dict = field(default_factory=dict)


def forward_nodes(graph):
    """The nodes the value needs, in topological order."""
    return graph.order([graph.outputs[0]])


def relevant(graph, wrt):
    """Forward nodes on a path from an input in `wrt` to the output: the ones that carry a gradient."""
    nodes = set(forward_nodes(graph))
    targets = {graph.inputs[name] for name in wrt} & nodes
    found = set(targets)
    for node in targets:
        found |= nx.descendants(graph.nx, node)
    return found & nodes


def code_adjoints(graph, wrt):
    """Forward node -> the node of the compiled graph that holds df/dnode (the output's seed is absent)."""
    found = {}
    for name, gradient in zip(wrt, graph.outputs[1:]):
        found[graph.inputs[name]] = gradient
    for node in graph.nx.nodes:
        target = graph[node]["adjoint"]
        if target is not None:
            found.setdefault(target, node)
    for node, adjoint, _ in graph.aliases:
        if node is not None and adjoint is not None:
            found.setdefault(node, adjoint)
    return found


def backward(graph, wrt, values):
    """The gradient of every relevant node and edge of `graph` at the point whose node values are `values`.

    Walks the forward nodes in reverse topological order, as reverse mode does. A node's adjoint is the
    compiled graph's value where the code computes it, else the sum of the flows into it.
    """
    forward = forward_nodes(graph)
    carry = relevant(graph, wrt)
    known = code_adjoints(graph, wrt)
    flows = Flows()
    incoming = {}
    output = graph.outputs[0]
    incoming[output] = [np.ones(np.shape(values[output]))]  # the seed df/df = 1
    for node in reversed(forward):
        if node not in carry:
            continue
        shape = np.shape(values[node])
        total = values[known[node]] if node in known and node != output else sum(incoming.get(node, [0.0]))
        flows.adjoint[node] = np.broadcast_to(np.asarray(total, dtype=float), shape)
        if graph.op(node).leaf:
            continue
        contributions = local_vjp(graph, node, flows.adjoint[node], values)
        for k, (arg, contribution) in enumerate(zip(graph.args(node), contributions)):
            if arg in carry and contribution is not None:
                flow = fit(contribution, np.shape(values[arg]))
                flows.edge[(node, k)] = flow
                flows.uses.setdefault(arg, []).append((node, k))
                incoming.setdefault(arg, []).append(flow)
    flows.summed = {data["adjoint"]: node for node, data in graph.nx.nodes(data=True)
                    if data["op"] == "accumulate" and data["adjoint"] is not None}
    return flows


def local_vjp(graph, node, g, values):
    """`node`'s VJP rule evaluated at the point: one array (or None) per operand."""
    scratch = Graph(graph.source)
    arrays = {}

    def leaf(tag, source):
        constant = graph.value_of(source)
        if constant is not None:  # a rule may look at constants (pow's exponent)
            return Value(scratch, scratch.const(constant))
        arrays[tag] = values[source]
        return Value(scratch, scratch.input(tag, graph.shape(source)))

    operands = [leaf(f"_arg{k}", arg) for k, arg in enumerate(graph.args(node))]
    out = leaf("_out", node)
    arrays["_adjoint"] = g
    adjoint = Value(scratch, scratch.input("_adjoint", graph.shape(node)))
    contributions = graph.op(node).rule("vjp")(adjoint, out, *operands, **graph.attrs(node))
    scratch.outputs = [c.node for c in contributions if c is not None]
    computed = evaluate(scratch, arrays)
    return [None if c is None else computed[c.node] for c in contributions]


def fit(contribution, shape):
    """Sum a contribution over the axes its operand was broadcast along, or broadcast it up to `shape`."""
    x = np.asarray(contribution, dtype=float)
    while x.ndim > len(shape):
        x = x.sum(axis=0)
    kept = tuple(i for i, (s, t) in enumerate(zip(x.shape, shape)) if t == 1 and s != 1)
    if kept:
        x = x.sum(axis=kept, keepdims=True)
    return np.broadcast_to(x, shape)


def number(x):
    """A scalar as a student would write it: -12, 0.3333, 2.5e-07."""
    x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        return repr(x)
    if x == 0:
        return "0"  # never -0
    if x == round(x) and abs(x) < 1e6:
        return str(int(round(x)))
    return f"{x:.4g}"


def summary(value, limit=3, sep="\n"):
    """A scalar in full; a short vector element by element; anything larger as min / mean / max.

    The parts of a summary are joined by `sep`: a newline stacks them, so array labels stay narrow.
    """
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return number(a)
    if a.ndim == 1 and a.size <= limit:
        return "[" + ", ".join(number(x) for x in a) + "]"
    if a.ndim == 2 and a.shape[0] <= 3 and a.shape[1] <= 3 and sep == "\n":  # a small matrix, row by row
        return sep.join(summary(row) for row in a)
    if a.size == 0:
        return "empty"
    if a.min() == a.max():
        return f"all {number(a.min())}"
    return sep.join((f"min {number(a.min())}", f"mean {number(a.mean())}", f"max {number(a.max())}"))


def extent(value):
    """The concrete shape at the point, as 5×3; empty for a scalar."""
    return "×".join(str(n) for n in np.shape(value))


def point(graph, at):
    """Every node's value at `at` (input name -> number or array)."""
    integers = graph.integer_inputs()  # indices stay integers
    arrays = {name: np.asarray(value, dtype=int if name in integers else float) if not np.isscalar(value)
              else float(value) for name, value in at.items()}
    return evaluate(graph, arrays)
