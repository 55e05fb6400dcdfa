"""Forward-mode differentiation on the graph: each op's JVP rule carries tangents from the inputs onward."""
from gradc.ops import Value, call


def forward_mode(graph, tangents, roots=None):
    """Extend `graph` with the directional derivatives of `roots` along `tangents`.

    The tangent nodes are built through the graph's rewrite hook, so they simplify as they are made;
    a value no moving input reaches has no tangent node at all (a None tangent is zero).

    Args:
        tangents: input name -> node holding that input's tangent; inputs not named stay fixed.
        roots: the nodes to differentiate; default the graph's outputs.

    Returns:
        One node per root: its tangent, or a zeros node where the root does not move.
    """
    roots = list(graph.outputs if roots is None else roots)
    moving = {graph.inputs[name]: node for name, node in tangents.items()}
    for node in graph.order(roots):
        if node not in moving and not graph.op(node).leaf:
            tangent = _push(graph, node, moving)
            if tangent is not None:
                moving[node] = tangent
    return [moving[r] if r in moving else graph.add("zeros", shape=graph.shape(r)) for r in roots]


def _push(graph, node, moving):
    """Run `node`'s JVP rule on its operands' tangents; None when none of them moves."""
    args = graph.args(node)
    incoming = [moving.get(a) for a in args]
    if all(t is None for t in incoming):
        return None
    with graph.deriving(node):
        tangent = graph.op(node).rule("jvp")(tuple(None if t is None else Value(graph, t) for t in incoming),
                                             Value(graph, node), *(Value(graph, a) for a in args),
                                             **graph.attrs(node))
        if tangent is not None and tangent.shape != graph.shape(node):
            tangent = call("broadcast_to", tangent, shape=graph.shape(node))  # an operand's tangent, broadcast
    if tangent is None or graph[tangent.node]["op"] == "zeros":
        return None
    _name_tangent(graph, tangent.node, node)
    return tangent.node


def _name_tangent(graph, tangent, node):
    """Record that `tangent` is `node`'s derivative, when `node`'s own rule made it (`d_t1`)."""
    data = graph[tangent]
    if data["origin"] == node and all(data[role] is None for role in ("adjoint", "partial", "tangent")):
        data["tangent"] = node
