"""Reverse-mode differentiation on the graph: each op's VJP rule, with partials summed where a value branches."""
from gradc import shapes
from gradc.errors import DifferentiationError
from gradc.graph import AdjointAlias, PartialAlias
from gradc.ops import Value, call
from gradc.ops.masks import mask_like, masked


def differentiate(graph, wrt, seed=None):
    """Extend `graph` with the gradient of its output with respect to the inputs named in `wrt`.

    The backward nodes are built through the graph's own rewrite hook, so they simplify as they are
    made. Afterwards `graph.outputs` is the value followed by one gradient per name in `wrt`.

    Args:
        seed: the node of the output's adjoint (a cotangent input); defaults to the constant 1.
    """
    output = graph.outputs[0]
    if seed is None and graph.shape(output) != ():
        raise DifferentiationError(f"the output has shape {shapes.show(graph.shape(output))}; a gradient "
                                   "needs a scalar output (sum it, or use a vector-Jacobian product)")
    targets = [graph.inputs[name] for name in wrt]
    relevant = set(targets)  # the nodes that depend on a target, found in one pass
    for node in graph.order([output]):
        if any(arg in relevant for arg in graph.args(node)):
            relevant.add(node)
    partials = {output: [(graph.const(1.0) if seed is None else seed, None)]}
    adjoints = {}
    for node in reversed(graph.order([output])):
        if node not in relevant or node not in partials:
            continue
        adjoints[node] = _branch_sum(graph, node, partials.pop(node))
        if not graph.op(node).leaf:
            _propagate(graph, node, adjoints[node], relevant, partials)
    gradients = [_gradient(graph, node, adjoints.get(node)) for node in targets]
    graph.outputs = [output] + gradients
    return graph


def _propagate(graph, node, adjoint, relevant, partials):
    """Run `node`'s VJP rule and file each operand's contribution."""
    op = graph.op(node)
    args = graph.args(node)
    g = Value(graph, adjoint)
    if not (op.elementwise or op.scalar_adjoint and g.shape == ()) and g.shape != graph.shape(node):
        g = call("broadcast_to", g, shape=graph.shape(node))  # a view: nothing is materialised
    # NOTE: an elementwise rule is linear in its adjoint, so where(c, h, 0) may pass through it as the mask of
    # its result on h: the unchosen elements are then selected away, never 0 * inf (gradc/ops/masks.py).
    selection = masked(graph, adjoint) if op.elementwise else None
    if selection is not None:
        g = Value(graph, selection[1])
    with graph.deriving(node):
        contributions = op.rule("vjp")(g, Value(graph, node), *(Value(graph, a) for a in args), **graph.attrs(node))
        for arg, contribution in zip(args, contributions):
            if contribution is not None and arg in relevant:
                if selection is not None:
                    contribution = mask_like(Value(graph, selection[0]), selection[2], contribution)
                if op.elementwise and graph.shape(arg) != graph.shape(node) != contribution.shape:
                    # NOTE: an elementwise rule's result stands for one of the node's shape, even when it is
                    # smaller (a scalar adjoint from sum); an operand that was broadcast sums over the copies.
                    contribution = call("broadcast_to", contribution, shape=graph.shape(node))
                partials.setdefault(arg, []).append((_fit(contribution, graph.shape(arg)).node, node))


def _fit(contribution, shape):
    """Sum a contribution back over the axes its operand was broadcast along."""
    if contribution.shape == shape or shapes.is_broadcastable(contribution.shape, shape):
        return contribution  # equal, or smaller and broadcasting: summed or materialised later if needed
    return call("sum_to", contribution, shape=shape)


def _branch_sum(graph, node, contributions):
    """The adjoint of `node`: its one contribution, or the visible sum of its numbered partials.

    A contribution made by its consumer's rule is named after `node` (`g_t1`, or `g_t1_2` for the second
    partial); one that is an existing value (the multiply gate hands `z` to `t1`) is recorded as an
    alias, so the code still says `g_t1 = z`.
    """
    selected = _selected_sum(graph, node, contributions)
    if selected is not None:
        return selected
    if len(contributions) == 1:
        (total, consumer), = contributions
        if _is_new(graph, total, consumer):
            graph[total]["adjoint"] = node
        else:
            graph.aliases.append(AdjointAlias(node, total, consumer))
        return total
    _name_partials(graph, node, contributions)
    with graph.deriving(node):
        total = graph.add("accumulate", [partial for partial, _ in contributions])
    return _name_total(graph, node, total, "accumulate")


def _selected_sum(graph, node, contributions):
    """Partials all selected by one condition, summed on each side and selected once (None if they are not):
    where(c, a, 0) + where(c, b, 0) -> where(c, a + b, 0), so that the mask passes on through node's rule, and
    where(c, a, 0) + where(c, 0, b) -> where(c, a, b), one selection for both branches."""
    selections = [masked(graph, partial) for partial, _ in contributions]
    if len(contributions) < 2 or None in selections or len({cond for cond, _, _ in selections}) != 1:
        return None
    cond = selections[0][0]
    sides = {chosen: [(value, consumer) for (_, consumer), (_, value, side) in zip(contributions, selections)
                      if side == chosen] for chosen in (True, False)}
    if not sides[True] or not sides[False]:
        chosen = bool(sides[True])
        with graph.deriving(node):
            return mask_like(Value(graph, cond), chosen, Value(graph, _branch_sum(graph, node, sides[chosen]))).node
    _name_partials(graph, node, sides[True] + sides[False])
    with graph.deriving(node):
        a, b = (side[0][0] if len(side) == 1 else graph.add("accumulate", [value for value, _ in side])
                for side in (sides[True], sides[False]))
        total = graph.add("where", [cond, a, b])
    return _name_total(graph, node, total, "where")


def _name_partials(graph, node, contributions):
    for k, (partial, consumer) in enumerate(contributions, 1):
        if _is_new(graph, partial, consumer):
            graph[partial]["partial"] = (node, k)
        else:
            graph.partial_aliases.append(PartialAlias(node, partial, consumer, k))


def _name_total(graph, node, total, op):
    """Record `total`, made by op to sum node's partials, as node's adjoint (or an alias where it is not new)."""
    if graph[total]["op"] == op and graph[total]["origin"] == node:
        graph[total]["adjoint"] = node
    else:
        graph.aliases.append(AdjointAlias(node, total, node))
    return total


def _is_new(graph, value, consumer):
    """True when `value` was made by `consumer`'s derivative rule and has no role yet."""
    data = graph[value]
    return data["origin"] == consumer is not None and data["adjoint"] is None and data["partial"] is None


def _gradient(graph, node, adjoint):
    shape = graph.shape(node)
    if adjoint is None:
        return graph.add("zeros", shape=shape)
    if graph.shape(adjoint) != shape:
        return graph.add("broadcast_to", (adjoint,), shape=shape)
    return adjoint
