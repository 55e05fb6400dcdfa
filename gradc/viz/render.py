"""Graphviz pictures of the forward pass (values) and the backward pass (gradients) of a compiled graph.

The forward picture draws inputs and constants as plain labels and operations as gates with their
symbol; each carries its shape and, at a point, its value. The backward picture draws the same nodes
with their adjoint df/dnode, and edges from output back to input labelled with the gradient flowing
along them; where a value is used more than once, the sum of its incoming gradients is its own node.
"""
from collections.abc import Mapping
from html import escape

import graphviz
import numpy as np

from gradc.backend.numpy.prologue import real
from gradc.errors import GradcError
from gradc.ops.gathers import indices
from gradc.viz.values import backward, extent, forward_nodes, point, relevant, summary
from gradc.backend.schedule import schedule

PASSES = ("forward", "backward", "both")
STAGES = ("parsed", "simplified", "final")
FONT = "Helvetica"
VALUE = "#1a7f37"  # values: green, as in the lecture's circuits
GRAD = "#c0392b"  # gradients: red
FAINT = "#8c8c8c"
GATE_FILL = "#eef3fb"
SUM_FILL = "#fdecea"
# Past a few hundred nodes dot's layout time explodes (a 100-term sum, 600 nodes: minutes), and no one
# reads such a picture; a value used k times costs dot more than its k edges suggest.
MAX_NODES = 200
LAYOUTS = ("auto", "lr", "tb")
# Past this many gates in a row a left-to-right picture outgrows any screen (the two-layer network's twelve
# drew 6,350 px wide); top to bottom it stays within 2,400 px both ways, the panels side by side.
LR_RANKS = 8
_FLOW = {"lr": ("left to right", "right to left"), "tb": ("top to bottom", "bottom to top")}


class RenderError(GradcError):
    """A picture cannot be drawn or written as asked."""


def render(stages, at=None, pass_="both", stage="final", layout="auto"):
    """Draw `stages` (a pipeline.Stages) as a graphviz.Digraph.

    Args:
        at: input name -> number or array; without it the picture shows structure and shapes only.
        pass_: "forward", "backward" or "both" (two panels of the same graph).
        stage: the graph both panels draw: "parsed" (as written), "simplified" or "final" (what the
            generated code computes); the backward panel differentiates exactly the graph the forward shows.
        layout: "lr" (left to right, panels stacked, as the lectures draw circuits), "tb" (top to bottom,
            panels side by side), or "auto": lr up to LR_RANKS gates deep, tb past it.
    """
    if pass_ not in PASSES:
        raise RenderError(f"unknown pass '{pass_}': choose one of {', '.join(PASSES)}")
    if stage not in STAGES:
        raise RenderError(f"unknown stage '{stage}': choose one of {', '.join(STAGES)}")
    if layout not in LAYOUTS:
        raise RenderError(f"unknown layout '{layout}': choose one of {', '.join(LAYOUTS)}")
    if pass_ != "forward" and not stages.wrt:
        raise RenderError("nothing is differentiated (wrt is empty): draw --pass forward")
    if at is not None and not isinstance(at, Mapping):
        raise RenderError(f"at is a dict, input name -> value, not {type(at).__name__}")
    at = dict(at or {})
    unknown = [name for name in at if name not in stages.parsed.inputs]
    if unknown:
        raise RenderError(f"a value is given for {', '.join(map(str, unknown))}, which is not an input "
                          f"(inputs: {', '.join(stages.parsed.inputs) or 'none'})")
    integers = stages.parsed.integer_inputs()
    at = {name: (indices if name in integers else real)(value, f"the value of {name}") for name, value in at.items()}
    graph = getattr(stages, stage)
    check_size([graph] * (1 + (pass_ == "both")))
    if layout == "auto":
        layout = "lr" if depth(graph) <= LR_RANKS else "tb"
    dot = graphviz.Digraph("gradc", graph_attr={
        "rankdir": layout.upper(), "fontname": FONT, "labelloc": "t", "nodesep": "0.35",
        "ranksep": "0.55" if layout == "lr" else "0.3",  # top to bottom, the edge labels sit beside the edges
        "label": title_of(stages, at), "fontsize": "16"},
        node_attr={"fontname": FONT, "fontsize": "13"}, edge_attr={"fontname": FONT, "fontsize": "12"})
    values = point(graph, at) if at else None
    names = names_of(graph) if stage == "final" else {}  # other stages' nodes have no line in the code
    flow = _FLOW[layout]
    panels = []
    if pass_ in ("forward", "both"):
        panel = _panel("forward", f"forward pass ({_STAGE_WORDS[stage]}): values flow {flow[0]}")
        draw_forward(panel, graph, values, names)
        panels.append(panel)
    if pass_ in ("backward", "both"):
        seed = "" if not graph.shape(graph.outputs[0]) else "; seeded with ones, so this is the gradient of sum(f)"
        panel = _panel("backward", f"backward pass: gradients df/d· flow {flow[1]}{seed}")
        draw_backward(panel, graph, stages.wrt, values, names)
        panels.append(panel)
    # NOTE: left to right, dot stacks the cluster added last on top; top to bottom, it puts the first leftmost
    for panel in reversed(panels) if layout == "lr" else panels:
        dot.subgraph(panel)
    return dot


def depth(graph):
    """The number of gates on the longest path from an input to the output."""
    depth = {}
    for node in forward_nodes(graph):
        below = [depth[a] for a in graph.args(node)]
        depth[node] = max(below, default=0) + (graph[node]["op"] not in ("input", "const", "size"))
    return depth[graph.outputs[0]]


def check_size(graphs):
    """Refuse a picture of more than MAX_NODES nodes, before Graphviz would spend minutes laying it out."""
    count = sum(len(forward_nodes(graph)) for graph in graphs)
    if count > MAX_NODES:
        fits = len(graphs) > 1 and len(forward_nodes(graphs[0])) <= MAX_NODES
        one = " (or draw one pass: --pass forward)" if fits else ""
        raise RenderError(f"the picture would have {count} nodes, more than the {MAX_NODES} gradc draws: "
                          f"draw a smaller expression{one}")


_STAGE_WORDS = {"parsed": "as written", "simplified": "after simplification", "final": "as compiled"}


def _panel(name, label):
    panel = graphviz.Digraph(name=f"cluster_{name}")
    panel.attr(label=label, labeljust="l", fontsize="13", fontcolor="#555555", style="rounded",
               color="#d0d0d0", margin="14")
    return panel


def title_of(stages, at):
    """`f(x, y, z) = (x + y) * z`, or every statement of a longer source: `f(X, w): h = ...; f = ...`."""
    graph = stages.parsed
    inputs = ", ".join(graph.inputs)
    # NOTE: the language has no strings, so a # always starts a comment
    statements = [" ".join(line.split("#", 1)[0].split()) for line in graph.source.replace(";", "\n").splitlines()]
    statements = [s for s in statements if s]
    if len(statements) == 1:
        title = f"f({inputs}) = {statements[0]}"
    else:
        title = f"f({inputs}): " + "; ".join(statements[:-1] + [f"f = {statements[-1]}"])
    if at:
        scalars = [f"{name} = {summary(value, sep=' ')}" for name, value in at.items() if not _is_big(value)]
        if scalars:
            title += "   at " + ", ".join(scalars)
    return title


def _is_big(value):
    """Too big to spell out in the title: more than four numbers, or a matrix."""
    return np.ndim(value) > 1 or np.size(value) > 4


def names_of(graph):
    """Node -> the name the generated code gives it (t1, or the user's name), for the final graph."""
    try:
        return schedule(graph).names
    except GradcError:
        return {}


def _kind(graph, node):
    return graph[node]["op"] if graph[node]["op"] in ("input", "const", "size") else "gate"


def _shape_text(graph, node, values):
    """n×d and, at a point, its size (n×d = 6×3); nothing for a scalar."""
    shape = graph.shape(node)
    if not shape:
        return ""
    text = "×".join(str(d) for d in shape)
    if values is not None and extent(values[node]) != text:
        text += f" = {extent(values[node])}"
    return text


def _html(lines):
    """An HTML-like label from (text, colour, size, bold) lines; empty lines are dropped."""
    rows = []
    for text, colour, size, bold in lines:
        if not text:
            continue
        for part in text.split("\n"):
            body = f"<B>{escape(part)}</B>" if bold else escape(part)
            rows.append(f'<FONT COLOR="{colour}" POINT-SIZE="{size}">{body}</FONT>')
    return "<" + "<BR/>".join(rows) + ">"


def _node(panel, graph, node, prefix, title, number, colour, names, values, muted=False):
    """One node: a plain label for an input or constant, a gate for an operation."""
    kind = _kind(graph, node)
    span = graph[node]["span"]
    tooltip = span.text if span is not None else graph[node]["op"]
    shape_text = _shape_text(graph, node, values)
    ink = FAINT if muted else "black"
    if kind == "input":
        if graph.is_integer(node):  # indices: never differentiated, so marked apart from the variables
            shape_text = "int " + shape_text
        label = _html([(graph[node]["name"], ink, 15, True), (shape_text, FAINT, 10, False),
                       (number, colour, 13, False)])
        panel.node(f"{prefix}{node}", label, shape="plaintext", tooltip=tooltip, id=f"{prefix}{node}")
    elif kind == "const":
        label = _html([(summary(graph.value_of(node)), FAINT, 13, False)])
        panel.node(f"{prefix}{node}", label, shape="plaintext", tooltip="a constant", id=f"{prefix}{node}")
    elif kind == "size":  # a mean's count: named by its dimensions, as the source's shapes name them
        dims = "·".join(str(d) for d in graph.attrs(node)["dims"])
        count = summary(values[node]) if values is not None else ""
        label = _html([(dims if count in ("", dims) else f"{dims} = {count}", FAINT, 13, False)])
        panel.node(f"{prefix}{node}", label, shape="plaintext", id=f"{prefix}{node}",
                   tooltip=f"the number of elements {dims}, the divisor of a mean")
    else:
        symbol = graph.op(node).symbol or graph[node]["op"]
        caption = "  ".join(part for part in (title, shape_text) if part)  # one small line: name and shape
        label = _html([(symbol, ink, 18 if len(symbol) <= 2 else 13, True), (caption, FAINT, 10, False),
                       (number, colour, 13, False)])
        output = node == graph.outputs[0]
        panel.node(f"{prefix}{node}", label, shape="circle" if _fits(symbol, number, shape_text) else "ellipse",
                   style="filled", fillcolor=GATE_FILL if not muted else "white", color=ink,
                   penwidth="2.2" if output else "1", margin="0.04", tooltip=tooltip, id=f"{prefix}{node}")


def _fits(symbol, number, shape_text):
    return max(len(symbol), len(shape_text), *(len(part) for part in (number or "").split("\n"))) <= 9


def draw_forward(panel, graph, values, names, edge_labels=None):
    """Inputs to output: every node with its shape and value, every operand an edge (x * x has two).

    `edge_labels`, (consumer, k) -> text, writes the gradient an edge carries back beside it, in red (the
    step-through page shows each when its step comes).
    """
    prefix = "f"
    edge_labels = edge_labels or {}
    for node in forward_nodes(graph):
        title = _forward_title(graph, node, names)
        number = summary(values[node]) if values is not None else ""
        _node(panel, graph, node, prefix, title, number, VALUE, names, values)
        for k, arg in enumerate(graph.args(node)):  # the ids let the step-through page light up an edge
            label = {"label": edge_labels[node, k], "fontcolor": GRAD} if (node, k) in edge_labels else {}
            panel.edge(f"{prefix}{arg}", f"{prefix}{node}", color="#444444", arrowsize="0.7", id=f"e{node}_{k}",
                       **label)


def _forward_title(graph, node, names):
    name = names.get(node) or graph[node]["name"]
    if node == graph.outputs[0]:
        return f"f = {name}" if name and name != "f" else "f"
    return name or ""


def draw_backward(panel, graph, wrt, values, names):
    """Output to inputs: each node with df/dnode, each edge with the gradient its consumer sends back."""
    prefix = "b"
    carry = relevant(graph, wrt)
    flows = backward(graph, wrt, values) if values is not None else None
    uses = _uses(graph, carry)
    for node in forward_nodes(graph):
        muted = node not in carry
        number = "" if muted else _adjoint_text(graph, node, flows)
        _node(panel, graph, node, prefix, _backward_title(graph, node, names, muted), number, GRAD,
              names, values, muted=muted)
        if len(uses.get(node, ())) > 1:
            _branch_sum(panel, graph, node, flows, names)
    for node in forward_nodes(graph):
        for k, arg in enumerate(graph.args(node)):
            _backward_edge(panel, graph, node, k, arg, carry, uses, flows)


def _uses(graph, carry):
    """Relevant operand -> the (consumer, k) through which its gradient arrives."""
    uses = {}
    for node in forward_nodes(graph):
        if node in carry:
            for k, arg in enumerate(graph.args(node)):
                if arg in carry:
                    uses.setdefault(arg, []).append((node, k))
    return uses


def _adjoint_text(graph, node, flows):
    if flows is None:
        return ""
    return summary(flows.adjoint[node]) + (" (seed)" if node == graph.outputs[0] else "")


def _backward_title(graph, node, names, muted):
    if muted:
        return "no gradient" if _kind(graph, node) == "gate" else ""
    name = names.get(node) or graph[node]["name"] or ""
    return f"g_{name}" if name else "df/d·"


def _branch_sum(panel, graph, node, flows, names):
    """The branch sum: where `node` is used k times, its k partial gradients add up to its adjoint."""
    name = names.get(node) or graph[node]["name"] or "?"
    total = summary(flows.adjoint[node]) if flows is not None else ""
    label = _html([("+", "black", 16, True), (f"sum into {name}", FAINT, 9, False), (total, GRAD, 12, False)])
    panel.node(f"s{node}", label, shape="circle", style="filled,dashed", fillcolor=SUM_FILL, color=GRAD,
               margin="0.02", tooltip=f"branch sum: {name} is used more than once, so its gradients add up")
    label = summary(flows.adjoint[node]) if flows is not None else ""
    panel.edge(f"b{node}", f"s{node}", dir="back", color=GRAD, fontcolor=GRAD, label=label, arrowsize="0.7")


def _backward_edge(panel, graph, node, k, arg, carry, uses, flows):
    """The edge consumer -> operand, drawn tail-at-operand with dir=back so both panels share a layout."""
    if node not in carry or arg not in carry:
        panel.edge(f"b{arg}", f"b{node}", dir="none", style="dotted", color=FAINT)
        return
    tail = f"s{arg}" if len(uses.get(arg, ())) > 1 else f"b{arg}"
    label = summary(flows.edge[(node, k)]) if flows is not None else ""
    panel.edge(tail, f"b{node}", dir="back", color=GRAD, fontcolor=GRAD, label=label, arrowsize="0.7")

