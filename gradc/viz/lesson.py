"""A step-through page of backpropagation: one self-contained HTML file, the compiled graph drawn once.

The lectures teach the backward pass as a circuit: values flow forward gate by gate, then each edge carries
back its local gradient times the upstream one, and where a value branches its gradients add up. The page
steps through exactly that: first each gate's value, then each edge's chain-rule product, then each branch
sum, on the drawing of the very graph the generated code computes (drawn by `viz.render`'s own code). The
step is in the URL fragment (`lesson.html#step=7`, `#step=last`), so a teacher can link to a moment.
"""
import json
from html import escape
from dataclasses import asdict, dataclass
from pathlib import Path

import graphviz
import jinja2
import numpy as np

from gradc.viz.layout import layout
from gradc.viz.render import GRAD, LR_RANKS, VALUE, RenderError, check_size, depth, draw_forward, names_of, title_of
from gradc.viz.values import backward, extent, forward_nodes, local_vjp, number, point, relevant, summary


INFIX = ("+", "-", "×", "/", "**", "@", ">", ">=", "<", "<=")  # gates written between their operands


@dataclass(frozen=True)
class Step:
    """One moment of the lesson: the element it lights up, the label it leaves there, and what it says."""
    kind: str  # "input", "forward", "seed", "edge" or "sum"
    target: str  # the SVG id of the node or edge it is about
    label: str  # the number it writes beside that node or edge (a value, or a gradient)
    text: str  # the sentence it shows, as the lectures write it


def lesson(stages, at):
    """The HTML page stepping through `stages.final` (a pipeline.Stages) at the point `at`."""
    if not at:
        raise RenderError("a step-through page needs the point to step through: give a value for every input "
                          "(--at NAME=VALUE, or --at-file)")
    graph = stages.final
    check_size([graph])
    missing = [name for name in graph.inputs if name not in at]
    if missing:
        raise RenderError(f"a step-through page needs a value for every input; missing: {', '.join(missing)}")
    names = names_of(graph)
    if graph[graph.outputs[0]]["name"] is None:  # the lectures' f, where the source did not name its result
        names[graph.outputs[0]] = "f"
    values = point(graph, at)
    steps = forward_steps(graph, values, names)
    if stages.wrt:
        steps += backward_steps(graph, stages.wrt, values, names)
    title = title_of(stages, at)
    edge_labels = {tuple(int(i) for i in s.target[1:].split("_")): s.label for s in steps if s.kind == "edge"}
    return _environment().get_template("lesson.html.j2").render(
        title=title, svg=_drawing(graph, names, values, edge_labels), steps=_script_json([asdict(s) for s in steps]),
        value_colour=VALUE, gradient_colour=GRAD)


def _drawing(graph, names, values, edge_labels):
    """The forward picture with every value and edge gradient in place, as inline SVG: Graphviz makes room
    for each number, and the page shows each one when its step comes."""
    rankdir = "LR" if depth(graph) <= LR_RANKS else "TB"  # as the static picture chooses
    dot = graphviz.Digraph("lesson", graph_attr={"rankdir": rankdir, "nodesep": "0.45", "ranksep": "0.5",
                                                 "bgcolor": "transparent"},
                           node_attr={"fontname": "Helvetica", "fontsize": "13"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "13"})
    draw_forward(dot, graph, values, names, edge_labels)
    svg = layout(dot.source, ".svg").decode("utf-8")
    return svg[svg.index("<svg"):]  # drop the XML prologue and doctype: the SVG sits inside HTML


def _name(graph, node, names):
    return names.get(node) or graph[node]["name"] or graph[node]["op"]


def _expression(graph, node, names):
    """How the gate reads with its operands' names: `x + y`, `exp(t1)`, `sum(t2)`."""
    op = graph.op(node)
    operands = [_operand(graph, a, names) for a in graph.args(node)]
    if len(operands) == 2 and op.symbol in INFIX:
        return f"{operands[0]} {op.symbol} {operands[1]}"
    if op.name == "neg":
        return f"-{operands[0]}"
    return f"{op.name}({', '.join(operands)})"


def _operand(graph, node, names):
    constant = graph.value_of(node)
    return number(constant) if constant is not None else _name(graph, node, names)


def forward_steps(graph, values, names):
    """The inputs' values, then one step per gate in the order the forward pass computes them."""
    steps = []
    for node in forward_nodes(graph):
        op = graph[node]["op"]
        if op == "const":
            continue
        value = summary(values[node], sep=" ")
        if op == "input":
            steps.append(Step("input", f"f{node}", value, f"input {graph[node]['name']} = {value}"))
            continue
        expression = _expression(graph, node, names)
        operands = [_worked(values[a]) for a in graph.args(node)]
        worked = _expression_with(graph, node, operands)
        said = f"{_name(graph, node, names)} = {expression}"
        said += f" = {worked} = {value}" if worked != value else f" = {value}"
        steps.append(Step("forward", f"f{node}", value, said))
    return steps


def _worked(value):
    """An operand's value inside a worked expression: in full when short, else its shape (`(3×2)`)."""
    text = summary(value, sep=" ")
    return text if np.ndim(value) == 0 or text.startswith("[") else f"({extent(value)})"


def _expression_with(graph, node, operands):
    """The gate with its operands' values in place of their names: `-2 + 5`."""
    op = graph.op(node)
    if len(operands) == 2 and op.symbol in INFIX:
        return f"{operands[0]} {op.symbol} {_parenthesized(operands[1])}"
    if op.name == "neg":
        return f"-{_parenthesized(operands[0])}"
    return f"{op.name}({', '.join(operands)})"


def _parenthesized(text):
    return f"({text})" if text.startswith("-") else text


def backward_steps(graph, wrt, values, names):
    """The seed, then edge by edge from the output back: each a chain-rule product; then each branch sum.

    A value used more than once gets its sum step when the walk reaches it, after every consumer has sent
    its gradient back (reverse topological order guarantees that).
    """
    flows = backward(graph, wrt, values)
    carry = relevant(graph, wrt)
    output = graph.outputs[0]
    f = _name(graph, output, names)
    seed = "1" if not np.shape(values[output]) else "ones"
    steps = [Step("seed", f"f{output}", summary(flows.adjoint[output], sep=" "),
                  f"seed: d{f}/d{f} = {seed}" + ("" if seed == "1" else
                                                 f" (the gradient of sum({f}): each element weighs 1)"))]
    for node in reversed(forward_nodes(graph)):
        if node not in carry:
            continue
        uses = flows.uses.get(node, [])
        if len(uses) > 1:
            steps.append(_sum_step(graph, node, uses, flows, names, f))
        for k, arg in enumerate(graph.args(node)):
            if (node, k) in flows.edge:
                steps.append(_edge_step(graph, node, k, arg, flows, values, names, f))
    return steps


def _edge_step(graph, node, k, arg, flows, values, names, f):
    """`df/dx = df/dq · dq/dx = -4 · 1 = -4`, or for arrays, what the gate sends back and its shape."""
    consumer, operand = _name(graph, node, names), _name(graph, arg, names)
    flow = flows.edge[(node, k)]
    upstream = flows.adjoint[node]
    uses = flows.uses.get(arg, [])
    partial = f"d{f}/d{operand}"
    if len(uses) > 1:  # one of several gradients that add up: say which path it takes
        twice = sum(1 for used, _ in uses if used == node) > 1
        partial += f" (through {consumer}" + (f", operand {k + 1})" if twice else ")")
    label = summary(flow, sep=" ")
    if np.ndim(flow) == 0 and np.ndim(upstream) == 0:
        local = local_vjp(graph, node, 1.0, values)[k]
        text = (f"{partial} = d{f}/d{consumer} * d{consumer}/d{operand} = {number(upstream)} * "
                f"{_parenthesized(number(local))} = {label}")
    else:
        text = f"{partial} = d{f}/d{consumer} pulled back through {_expression(graph, node, names)} = {label}"
    return Step("edge", f"e{node}_{k}", summary(flow), text)  # stacked: Graphviz writes it beside the edge


def _sum_step(graph, node, uses, flows, names, f):
    name = _name(graph, node, names)
    terms = [summary(flows.edge[use], sep=" ") for use in uses]
    total = summary(flows.adjoint[node], sep=" ")
    text = (f"d{f}/d{name} = {' + '.join(_parenthesized(t) for t in terms)} = {total}   "
            f"({name} is used {len(uses)} times: its gradients add up)")
    return Step("sum", f"f{node}", total, text)


def _script_json(data):
    """JSON that is safe inside a <script> element: no `</script>` or `<!--` can come out of user text."""
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace(
        "&", "\\u0026")


def _environment():
    folder = Path(__file__).parents[1] / "templates"
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), undefined=jinja2.StrictUndefined,
                              autoescape=True, keep_trailing_newline=True)


class LessonPage:
    """The page as a Jupyter notebook shows it inline (`_repr_html_`, in a frame of its own so that its script
    and style stay apart from the notebook's), or as `str()` to write to a file."""

    def __init__(self, html):
        self.html = html

    def __str__(self):
        return self.html

    def _repr_html_(self):
        return f'<iframe srcdoc="{escape(self.html, quote=True)}" style="width: 100%; height: 640px; border: 0">' \
               '</iframe>'
