"""Linear order and names: which nodes each generated function computes, and what each one is called."""
from dataclasses import dataclass

from gradc.naming import Alias, Names, adjoint_name, dimension_names, partial_name, tangent_name
from gradc.ops import REGISTRY

# The ops written in place, never given a line of their own (their entries' `inline`): inputs, constants and
# counts, views that read best inline (X.T @ g), the bool comparisons inside the product that applies them.
# The walks below ask each node's op; the emitter reads the names.
INLINE = frozenset(name for name, op in REGISTRY.items() if op.inline)


@dataclass
class Schedule:
    forward: list  # node ids the value needs, in order
    backward: list  # the further node ids the gradients need, in order
    names: dict  # node id -> identifier
    aliases: dict  # node id -> Alias `g_<name>`, for an adjoint that is an existing value
    partial_aliases: dict  # (branch sum id, k) -> Alias `g_<name>_<k>`, for its k-th operand when that exists
    partial_of: dict  # node id -> (node, k): a line computing the k-th operand of that node's branch sum
    dims: dict  # dimension name -> identifier bound by the shape checks


def schedule(graph, reserved=()):
    """Order the nodes (the value's first, then the gradients') and name every one that gets a line.

    Names come from the source where it has them; adjoints are `g_<name>`, and the numbered partials
    summed where a value branches are `g_<name>_<k>`; tangents (forward mode) are `d_<name>`; everything
    else is `t1, t2, ...`. No name is one of `reserved`, the generated function's other identifiers.
    """
    value = graph.outputs[0]
    forward = _reductions_early(graph, [n for n in graph.order([value]) if not graph.op(n).inline])
    seen = set(forward)
    backward = [n for n in graph.order() if n not in seen and not graph.op(n).inline]
    dims = dimension_names(graph)
    names = Names(list(graph.inputs) + list(dims.values()) + list(reserved))
    ids = {node: name for name, node in graph.inputs.items()}
    named_adjoints = set()  # the nodes whose adjoint got its name g_<name> from a line of its own
    for node in forward:
        ids[node] = _name(graph, node, ids, names, {}, named_adjoints)
    sums = _branch_sums(graph, backward, ids)
    partial_of = _own_partials(graph, sums, set(backward))
    for node in backward:
        ids[node] = _name(graph, node, ids, names, partial_of, named_adjoints)
    aliases = _adjoint_aliases(graph, ids, names, named_adjoints)
    partials = _partial_aliases(graph, sums, partial_of, ids, names)
    return Schedule(forward, backward, names=ids, aliases=aliases, partial_aliases=partials,
                    partial_of=partial_of, dims=dims)


# NOTE: naming must never decide a value. Rewrites after differentiation can merge two forward nodes
# (t = 2*u - u becomes u), so the roles recorded on the graph may claim the same name twice: every name
# below is claimed once, and a branch sum's partials are numbered by their position in the sum.
def _branch_sums(graph, backward, ids):
    """Named node -> the first branch sum that adds up its partials."""
    sums = {}
    for node in backward:
        of = graph[node]["adjoint"]
        # a branch sum, or the where that selects the partials of both branches (transform/differentiate.py)
        if (graph[node]["op"] == "accumulate" or graph[node]["op"] == "where" and graph[node]["origin"] == of) \
                and of in ids:
            sums.setdefault(of, node)
    return sums


def _own_partials(graph, sums, backward):
    """The backward lines made as the k-th partial of a branch sum: node -> (summed node, k)."""
    own = {}
    for of, total in sums.items():
        for k, operand in enumerate(_summed(graph, total)[1], 1):
            role = graph[operand]["partial"]
            if operand in backward and operand not in own and role is not None and role[0] == of:
                own[operand] = (of, k)
    return own


def _adjoint_aliases(graph, ids, names, named_adjoints):
    """`g_<name> = value` for a node whose one recorded adjoint is an existing value."""
    recorded = {}
    for alias in graph.aliases:
        of, adjoint = alias.node, alias.adjoint
        if alias.consumer is not None and of in ids and (adjoint in ids or graph.op(adjoint).inline):
            recorded.setdefault(of, []).append((adjoint, alias.consumer))
    return {of: Alias(names.claim(adjoint_name(ids[of])), found[0][0], found[0][1])
            for of, found in recorded.items()
            if of not in named_adjoints and len({adjoint for adjoint, _ in found}) == 1}


def _partial_aliases(graph, sums, own, ids, names):
    """`g_<name>_<k> = value` for each operand of a branch sum that is not a partial line of its own."""
    consumers = {}  # (summed node, operand) -> the consumers that handed it over, in order
    for alias in graph.partial_aliases:
        consumers.setdefault((alias.node, alias.partial), []).append(alias.consumer)
    aliases = {}
    for of, total in sums.items():
        offset, summed = _summed(graph, total)
        for k, operand in enumerate(summed, 1):
            if own.get(operand) == (of, k):
                continue
            handed = consumers.get((of, operand), [])
            consumer = handed.pop(0) if handed else None
            aliases[total, k + offset] = Alias(names.claim(partial_name(ids[of], k)), operand, consumer)
    return aliases


def _summed(graph, total):
    """(offset, partials): the partials a branch sum adds up, after `offset` operands (a where's condition)."""
    offset = 1 if graph[total]["op"] == "where" else 0
    return offset, graph.args(total)[offset:]


def _reductions_early(graph, nodes):
    """`nodes` with each reduction of arrays to a scalar moved up to just after the lines it reads.

    A scalar costs nothing to keep, and the arrays it reads may then die sooner: in softmax cross-entropy
    `vdot(Y, Z)` runs before `Z - max(Z)`, which can then overwrite Z (see reuse.py).
    """
    order, position = [], {}
    for node in nodes:
        if graph.shape(node) == () and any(graph.shape(a) for a in graph.args(node)):
            at = max((position[a] for a in computed_reads(graph, node) if a in position), default=-1) + 1
            order.insert(at, node)
            if at < len(order) - 1:  # moved up: the lines after it moved down one
                position = {n: i for i, n in enumerate(order)}
            else:
                position[node] = at
        else:
            position[node] = len(order)
            order.append(node)
    return order


def computed_reads(graph, node):
    """The lines that `node`'s expression reads: its operands, looking into those written in place inside it
    (`t5.T`, `g * (t2 > 0.0)` read t5 and t2); inputs, constants and sizes are no lines."""
    for arg in graph.args(node):
        if graph.op(arg).inline:
            yield from computed_reads(graph, arg)
        else:
            yield arg


def _name(graph, node, ids, names, partial_of, named_adjoints):
    data = graph[node]
    if node in partial_of:
        of, k = partial_of[node]
        return names.claim(partial_name(ids[of], k))
    of = data["adjoint"]
    if of is not None and of in ids and of not in named_adjoints:
        named_adjoints.add(of)
        return names.claim(adjoint_name(ids[of]))
    if data["tangent"] is not None and data["tangent"] in ids:
        return names.claim(tangent_name(ids[data['tangent']]))
    if data["name"] is not None and data["origin"] is None:
        return names.claim(data["name"])
    return names.temporary()
