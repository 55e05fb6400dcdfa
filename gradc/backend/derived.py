"""Derived graphs -> Function records (jvp, vjp, jacobian, hvp, hessian), for any backend: the emitters here say
what each function computes, and a backend's `Spelling` how its namespace writes the parts that differ (a
direction checked on entry, the basis vectors of a loop, the blocks the loop fills)."""
from abc import ABC, abstractmethod
from collections import Counter

from gradc.backend.schedule import schedule
from gradc.backend.writer import Basis, Function, Line

DOCS = {
    "jvp": "(value, directional derivative Df[{param}]), `{param}` holding one array per name in WRT.",
    "vjp": "(value, {{name: gradient of sum({param} * f)}}) for each name in WRT; `{param}` has f's shape.",
    "jacobian": "{{name: df/dname}} for each name in WRT, each shaped f's shape + name's shape (row by row: one "
                "backward pass per element of f).",
    "hvp": "{{name: (Hessian @ {param})[name]}}, `{param}` holding one direction per name in WRT.",
    "hessian": "{{a: {{b: d2f/da db}}}} for a, b in WRT, each block shaped a's shape + b's shape.",
}


class Spelling(ABC):
    """How a backend writes what its derived functions do besides the graph's lines; `writer` is the function's
    Writer, `dims` shapes as the graph holds them."""

    @abstractmethod
    def writer(self, graph, plan, readable):
        """The Writer of one derived function's lines."""

    reserved = ()  # identifiers every function binds besides its inputs (the array-api backend's `xp`)

    @abstractmethod
    def direction(self, target, what, given, like):
        """The Line `target = given`, checked to be real and shaped as `like` (`what` names it in errors)."""

    @abstractmethod
    def loop(self, writer, index, dims, vector, body, blocks, trailing):
        """The Basis loop over the elements of `dims`: per element `index`, `vector` set to its basis vector,
        then `body`, then each block (its name, the node of its part at the element or None where that is zero,
        its whole shape) taking that part: a Jacobian row (the element's axes lead the block), or a Hessian
        column (`trailing`: they end it)."""


def function(derived, inputs, spelling, entry=(), readable=False):
    """The Function record computing `derived` (a `gradc.transform.derivatives.Derived`); `inputs` are the
    user's, `entry` the Lines that open every function of the module."""
    plan = schedule(derived.graph, reserved=spelling.reserved + derived.reserved)
    writer = spelling.writer(derived.graph, plan, readable)
    params = ", ".join(([derived.param] if derived.param else []) + list(inputs))
    doc = DOCS[derived.kind].format(param=derived.param)
    body = list(entry) + [spelling.direction(name, f'\'{derived.param}["{a}"]\'', f'{derived.param}["{a}"]', a)
                          for a, name in derived.inputs.items() if derived.param]
    body += [writer.line(node) for node in plan.forward]
    if derived.kind == "vjp":  # the cotangent must have the output's shape: another one would broadcast
        value = writer.ref(derived.graph.outputs[0])
        body.append(spelling.direction(derived.param, f'"{derived.param}"', derived.param, value))
    made = EMITTERS[derived.kind](derived, writer, plan.backward, spelling)
    return Function(derived.kind, params, doc, body + made[0], *made[1:])


def _jvp(derived, writer, nodes, spelling):
    value, tangent = derived.graph.outputs
    lines = tangent_lines(writer, nodes, f"forward mode, along {derived.param}")
    return lines, f"{writer.ref(value)}, {_returned(writer, tangent)}"


def _vjp(derived, writer, nodes, spelling):
    graph = derived.graph
    lines = writer.backward(nodes, seed=derived.param)
    return lines, f"{writer.ref(graph.outputs[0])}, {_dictionary(writer, derived.wrt)}"


def _jacobian(derived, writer, nodes, spelling):
    """A scalar output's gradient; an array output's rows, one backward pass per basis cotangent e_i, after the
    forward lines and what the backward pass needs from them alone (computed once)."""
    graph = derived.graph
    if derived.index is None:
        return writer.backward(nodes), _dictionary(writer, derived.wrt)
    fixed, rows = _split(graph, nodes, {derived.seed})
    output = graph.shape(graph.outputs[0])
    body = writer.backward(rows, seed=f"e_{derived.index}")
    blocks = [(derived.blocks[a,], None if graph[node]["op"] == "zeros" else node, output + graph.shape(graph.inputs[a]))
              for a, node in zip(derived.wrt, graph.outputs[1:])]
    loop = spelling.loop(writer, derived.index, output, derived.seed, body, blocks, trailing=False)
    result = "{" + ", ".join(f'"{a}": {derived.blocks[a,]}' for a in derived.wrt) + "}"
    return [writer.line(node) for node in fixed], result, [loop]


def _hvp(derived, writer, nodes, spelling):
    gradient, tangent = _split(derived.graph, nodes, set(derived.inputs.values()))
    lines = writer.backward(gradient) + tangent_lines(writer, tangent, f"forward mode over the gradient, "
                                                                         f"along {derived.param}")
    return lines, _dictionary(writer, derived.wrt)


def _hessian(derived, writer, nodes, spelling):
    """Blocks of a scalar b are closed forms; those of an array b fill column by column in a loop."""
    graph = derived.graph
    blocks = dict(zip(derived.blocks, graph.outputs[1:]))
    stored = [node for (a, b), node in blocks.items() if b not in derived.inputs or graph[node]["op"] != "zeros"]
    needed = set(graph.order(graph.outputs[:1] + stored))  # an array b's zero blocks are just allocated
    nodes = [node for node in nodes if node in needed]
    prefix, *columns = _split(graph, nodes, *({derived.inputs[b]} for b in derived.wrt if b in derived.inputs))
    lines = writer.backward(prefix)
    loops = []
    for b in derived.wrt:
        if b not in derived.inputs:
            lines += [Line("assign", derived.blocks[a, b], _returned(writer, blocks[a, b])) for a in derived.wrt]
        else:
            loops.append(_column(derived, writer, b, columns.pop(0), blocks, spelling))
    result = "{" + ", ".join(f'"{a}": {{' + ", ".join(f'"{b}": {derived.blocks[a, b]}' for b in derived.wrt) + "}"
                             for a in derived.wrt) + "}"
    return lines, result, loops


def _column(derived, writer, b, nodes, blocks, spelling):
    """The loop filling blocks d2f/da db one element of b at a time, along basis vectors v_b."""
    graph, direction = derived.graph, derived.inputs[b]
    shape = graph.shape(graph.inputs[b])
    body = tangent_lines(writer, nodes, f"forward mode over the gradient, along {direction}")
    filled = [(derived.blocks[a, b], None if graph[blocks[a, b]]["op"] == "zeros" else blocks[a, b],
               graph.shape(graph.inputs[a]) + shape) for a in derived.wrt]
    return spelling.loop(writer, derived.index, shape, direction, body, filled, trailing=True)


def tangent_lines(writer, nodes, title):
    """Forward-mode lines under a title, grouped under the line each group differentiates."""
    lines = [Line("comment", comment=title, keep=True)]
    group = None
    for node in nodes:
        origin = writer.graph[node]["origin"]
        if origin is not None and origin != group and origin in writer.plan.names:
            group = origin
            lines.append(Line("comment", comment=writer.heading(origin, None)))
        lines.append(writer.line(node, ""))
    return lines


def _split(graph, nodes, *groups):
    """`nodes` that depend on no input named in `groups`, then those depending on each group's inputs."""
    reach = {}
    for node in graph.order():
        data = graph[node]
        own = {i for i, group in enumerate(groups) if data["op"] == "input" and dict(data["attrs"])["var"] in group}
        reach[node] = own.union(*(reach[a] for a in data["args"]))
    return [[n for n in nodes if not reach[n]]] + [[n for n in nodes if i in reach[n]] for i in range(len(groups))]


def _dictionary(writer, wrt):
    """`{name: result}` for the outputs after the value, one per name in wrt."""
    return "{" + ", ".join(f'"{name}": {text}' for name, text in writer.gradients(wrt)) + "}"


def _returned(writer, node):
    """A result as returned: a float, or an array that aliases no input or other result."""
    return writer.returned(node, None, Counter(writer.memory(o) for o in writer.graph.outputs))


EMITTERS = {"jvp": _jvp, "vjp": _vjp, "jacobian": _jacobian, "hvp": _hvp, "hessian": _hessian}
