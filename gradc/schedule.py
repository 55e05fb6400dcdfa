"""Linear order and names: which nodes each generated function computes, and what each one is called."""
from dataclasses import dataclass

from gradc.errors import ShapeError
from gradc.ops.elementwise import COMPARISONS
from gradc.parse import RESERVED

# Written in place, never given a line of their own: leaves, and views that read best inline (X.T @ g).
# And the bool comparisons read inside the product that applies them (g * (x > 0.0)).
INLINE = frozenset({"input", "const", "size", "transpose", "expand_dims"} | {"is_" + c for c in COMPARISONS})


@dataclass
class Schedule:
    forward: list  # node ids the value needs, in order
    backward: list  # the further node ids the gradients need, in order
    names: dict  # node id -> identifier
    aliases: dict  # node id -> `g_<name>`, for an adjoint that is an existing value
    partial_aliases: dict  # (node id, k) -> `g_<name>_<k>`, for a partial that is an existing value
    dims: dict  # dimension name -> identifier bound by the shape checks


class Names:
    """Hands out identifiers that cannot clash with inputs, dimensions or the module's own names."""

    def __init__(self, taken):
        self.taken = set(taken) | RESERVED
        self.counter = 0

    def claim(self, wanted):
        name, k = wanted, 1
        while name in self.taken:
            k += 1
            name = f"{wanted}_{k}"
        self.taken.add(name)
        return name

    def temporary(self):
        self.counter += 1
        while f"t{self.counter}" in self.taken:
            self.counter += 1
        return self.claim(f"t{self.counter}")


def schedule(graph, reserved=()):
    """Order the nodes (the value's first, then the gradients') and name every one that gets a line.

    Names come from the source where it has them; adjoints are `g_<name>`, and the numbered partials
    summed where a value branches are `g_<name>_<k>`; tangents (forward mode) are `d_<name>`; everything
    else is `t1, t2, ...`. No name is one of `reserved`, the generated function's other identifiers.
    """
    value = graph.outputs[0]
    forward = _reductions_early(graph, [n for n in graph.order([value]) if graph[n]["op"] not in INLINE])
    seen = set(forward)
    backward = [n for n in graph.order() if n not in seen and graph[n]["op"] not in INLINE]
    dims = dimension_names(graph)
    names = Names(list(graph.inputs) + list(dims.values()) + list(reserved))
    ids = {node: name for name, node in graph.inputs.items()}
    for node in forward + backward:
        ids[node] = _name(graph, node, ids, names)
    def computed(node):  # a value the function has: a line's, or one written in place (not one lowered away)
        return node in ids or graph[node]["op"] in INLINE

    aliases = {v: names.claim(f"g_{_stem(ids[v])}") for v, adjoint, consumer in graph.aliases
               if consumer is not None and v in ids and computed(adjoint)}
    branch_sums = {graph[n]["adjoint"]: n for n in backward if graph[n]["op"] == "accumulate"}
    partials = {(v, k): names.claim(f"g_{_stem(ids[v])}_{k}") for v, partial, _, k in graph.partial_aliases
                if v in ids and computed(partial) and partial in graph.args(branch_sums.get(v, partial))}
    return Schedule(forward, backward, names=ids, aliases=aliases, dims=dims, partial_aliases=partials)


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
        if graph[arg]["op"] in INLINE:
            yield from computed_reads(graph, arg)
        else:
            yield arg


def _name(graph, node, ids, names):
    data = graph[node]
    if data["partial"] is not None and data["partial"][0] in ids:
        of, k = data["partial"]
        return names.claim(f"g_{_stem(ids[of])}_{k}")
    if data["adjoint"] is not None and data["adjoint"] in ids:
        return names.claim(f"g_{_stem(ids[data['adjoint']])}")
    if data["tangent"] is not None and data["tangent"] in ids:
        return names.claim(f"d_{ids[data['tangent']]}")
    if data["name"] is not None and data["origin"] is None:
        return names.claim(data["name"])
    return names.temporary()


def _stem(name):
    return name[2:] if name.startswith("g_") else name


def dimension_names(graph):
    """Dimension name -> the variable that holds it, in order of first appearance among the inputs."""
    variables = {}
    for name, node in graph.inputs.items():
        for dim in graph.shape(node):
            if isinstance(dim, str) and dim not in variables:
                if dim in graph.inputs or dim in RESERVED:
                    raise ShapeError(f"dimension '{dim}' has the name of an input or of gradc's own; rename it")
                variables[dim] = dim
    return variables
