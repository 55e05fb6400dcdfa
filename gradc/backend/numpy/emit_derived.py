"""Derived graphs -> Function records (jvp, vjp, jacobian, hvp, hessian): emit's builder table's derived entries."""
from collections import Counter
from dataclasses import replace

from gradc.transform.derivatives import build
from gradc.backend.schedule import schedule
from gradc.backend.numpy.specialize import lower
from gradc.backend.numpy.writer import Context, Writer
from gradc.backend.writer import Basis, Function, Line

DOCS = {
    "jvp": "(value, directional derivative Df[{param}]), `{param}` holding one array per name in WRT.",
    "vjp": "(value, {{name: gradient of sum({param} * f)}}) for each name in WRT; `{param}` has f's shape.",
    "jacobian": "{{name: df/dname}} for each name in WRT, each shaped f's shape + name's shape (row by row: one "
                "backward pass per element of f).",
    "hvp": "{{name: (Hessian @ {param})[name]}}, `{param}` holding one direction per name in WRT.",
    "hessian": "{{a: {{b: d2f/da db}}}} for a, b in WRT, each block shaped a's shape + b's shape.",
}


def derive(simplified, wrt, kinds):
    """The lowered Derived graphs of `kinds` (see `derivatives.KINDS`) for the simplified forward graph."""
    return [replace(derived, graph=lower(derived.graph)) for derived in build(simplified, wrt, kinds)]


def function(derived, inputs, entry=(), readable=False):
    """The Function record computing `derived` (a `gradc.transform.derivatives.Derived`); `inputs` are the
    user's, `entry` the Lines that open every function of the module."""
    plan = schedule(derived.graph, reserved=derived.reserved)
    writer = Writer(derived.graph, plan, readable=readable)
    params = ", ".join(([derived.param] if derived.param else []) + list(inputs))
    doc = DOCS[derived.kind].format(param=derived.param)
    body = list(entry) + [_direction(name, f'\'{derived.param}["{a}"]\'', f'{derived.param}["{a}"]', a)
                          for a, name in derived.inputs.items() if derived.param]
    body += [writer.line(node) for node in plan.forward]
    if derived.kind == "vjp":  # the cotangent must have the output's shape: another one would broadcast
        value = writer.ref(derived.graph.outputs[0])
        body.append(_direction(derived.param, f'"{derived.param}"', derived.param, value))
    made = EMITTERS[derived.kind](derived, writer, plan.backward)
    return Function(derived.kind, params, doc, body + made[0], *made[1:])


def _direction(target, what, given, like):
    """`v_x = _direction('v["x"]', v["x"], x)`: a direction checked against its partner (kept: it checks)."""
    return Line("assign", target, f"_direction({what}, {given}, {like})", helpers=("_direction",), keep=True)


def _jvp(derived, writer, nodes):
    value, tangent = derived.graph.outputs
    lines = tangent_lines(writer, nodes, f"forward mode, along {derived.param}")
    return lines, f"{writer.ref(value)}, {_returned(writer, tangent)}"


def _vjp(derived, writer, nodes):
    graph = derived.graph
    lines = writer.backward(nodes, seed=derived.param)
    return lines, f"{writer.ref(graph.outputs[0])}, {_dictionary(writer, derived.wrt)}"


def _jacobian(derived, writer, nodes):
    """A scalar output's gradient; an array output's rows, one backward pass per basis cotangent e_i, after the
    forward lines and what the backward pass needs from them alone (computed once)."""
    graph = derived.graph
    if derived.index is None:
        return writer.backward(nodes), _dictionary(writer, derived.wrt)
    fixed, rows = _split(graph, nodes, {derived.seed})
    output = _shape(writer, graph.shape(graph.outputs[0]))
    blocks = dict(zip(derived.wrt, graph.outputs[1:]))
    before = [Line("assign", derived.blocks[a,], f"np.zeros({_shape(writer, graph.shape(graph.outputs[0]) + graph.shape(graph.inputs[a]))})")
              for a in derived.wrt]
    body = [Line("assign", derived.seed, f"np.zeros({output})"),
            Line("raw", expr=f"{derived.seed}[{derived.index}] = 1.0")]
    body += writer.backward(rows, seed=f"e_{derived.index}")
    body += [Line("raw", expr=f"{derived.blocks[a,]}[{derived.index}] = {writer.ref(blocks[a])}")
             for a in derived.wrt if graph[blocks[a]]["op"] != "zeros"]
    result = "{" + ", ".join(f'"{a}": {derived.blocks[a,]}' for a in derived.wrt) + "}"
    return [writer.line(node) for node in fixed], result, [Basis(before, derived.index, output, body)]


def _hvp(derived, writer, nodes):
    gradient, tangent = _split(derived.graph, nodes, set(derived.inputs.values()))
    lines = writer.backward(gradient) + tangent_lines(writer, tangent, f"forward mode over the gradient, "
                                                                         f"along {derived.param}")
    return lines, _dictionary(writer, derived.wrt)


def _hessian(derived, writer, nodes):
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
            loops.append(_column(derived, writer, b, columns.pop(0), blocks))
    result = "{" + ", ".join(f'"{a}": {{' + ", ".join(f'"{b}": {derived.blocks[a, b]}' for b in derived.wrt) + "}"
                             for a in derived.wrt) + "}"
    return lines, result, loops


def _column(derived, writer, b, nodes, blocks):
    """The loop filling blocks d2f/da db one element of b at a time, along basis vectors v_b."""
    graph, index, direction = derived.graph, derived.index, derived.inputs[b]
    shape = graph.shape(graph.inputs[b])
    before = [Line("assign", derived.blocks[a, b], f"np.zeros({_shape(writer, graph.shape(graph.inputs[a]) + shape)})")
              for a in derived.wrt]
    body = [Line("assign", direction, f"np.zeros({_shape(writer, shape)})"),
            Line("raw", expr=f"{direction}[{index}] = 1.0")]
    body += tangent_lines(writer, nodes, f"forward mode over the gradient, along {direction}")
    body += [Line("raw", expr=f"{derived.blocks[a, b]}[(...,) + {index}] = {writer.ref(blocks[a, b])}")
             for a in derived.wrt if graph[blocks[a, b]]["op"] != "zeros"]
    return Basis(before, index, _shape(writer, shape), body)


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


def _shape(writer, dims):
    return Context(writer.plan.dims).shape(dims)


EMITTERS = {"jvp": _jvp, "vjp": _vjp, "jacobian": _jacobian, "hvp": _hvp, "hessian": _hessian}
BUILDERS = {kind: function for kind in EMITTERS}  # emit's builder table, for the derived kinds
