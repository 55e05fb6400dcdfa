"""Graphs for the derivatives beyond the gradient: jvp, vjp, jacobian, hvp and hessian, each simplified (a backend
lowers them).

Each builder starts from the simplified forward graph, adds the inputs its function takes besides the
user's (tangents, a cotangent, Hessian directions), differentiates, and simplifies the result like any
graph. The Hessian differentiates the gradient graph again: forward mode over reverse mode.
"""
from dataclasses import dataclass, field

from gradc.transform.differentiate import differentiate
from gradc.errors import GradcError
from gradc.transform.forward_mode import forward_mode
from gradc.graph import Graph, rebuild
from gradc.naming import Names, dimension_names
from gradc.transform.simplify import rewriter, simplify

KINDS = ("value_and_grad", "jvp", "vjp", "jacobian", "hvp", "hessian")  # what `--emit` accepts, in module order
PHASES = ("canonicalize", "stabilize")


@dataclass
class Derived:
    """A derivative's graph and the identifiers of its generated function.

    Attributes:
        kind: one of KINDS other than value_and_grad.
        graph: simplified, not yet lowered; outputs are the value, then what the function returns.
        wrt: the inputs it differentiates with respect to.
        param: the extra parameter (the `tangents`, `cotangent` or `vectors`), if any.
        inputs: wrt name -> the input node's identifier holding its tangent or direction (`d_x`, `v_x`).
        blocks: (a, b) -> the name of the Hessian block d2f/da db (hessian); (a,) -> the name of the
            Jacobian block df/da (jacobian).
        index: the loop index over basis vectors (hessian, and the jacobian of an array output).
        seed: the cotangent the jacobian sets to each basis vector in turn (an input of its graph, not a parameter).
    """
    kind: str
    graph: Graph
    wrt: tuple
    param: str = None
    inputs: dict = field(default_factory=dict)
    blocks: dict = field(default_factory=dict)
    index: str = None
    seed: str = None

    @property
    def reserved(self):
        """Identifiers the function uses besides the graph's inputs and the names of its nodes."""
        return tuple(n for n in (self.param, self.seed, self.index, *self.blocks.values()) if n is not None)


def check_kinds(kinds):
    """`kinds` as a tuple in module order, each one known and listed once."""
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds or ())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise GradcError(f"cannot emit {', '.join(unknown)}: choose from {', '.join(KINDS)}")
    return tuple(k for k in KINDS if k in kinds)


def build(simplified, wrt, kinds):
    """The Derived record of each kind in `kinds` but value_and_grad (which the module always has)."""
    return [BUILDERS[kind](simplified, tuple(wrt), _names(simplified)) for kind in check_kinds(kinds)
            if kind != "value_and_grad"]


def _names(graph):
    """Identifiers handed out so far: the user's inputs and dimension names are taken."""
    return Names(list(graph.inputs) + list(dimension_names(graph).values()))


def _copy(graph):
    return rebuild(graph, rewriter(PHASES))[0]


def _extra_inputs(wrt, names, prefix):
    """One new input per wrt name, shaped like it (`d_x` for x), keyed by the wrt name."""
    return {a: names.claim(f"{prefix}_{a}") for a in wrt}


def jvp_graph(simplified, wrt, names):
    """Outputs: the value and its derivative along one tangent per wrt input."""
    param = names.claim("tangents")
    graph = _copy(simplified)
    inputs = _extra_inputs(wrt, names, "d")
    moving = {a: graph.input(n, graph.shape(graph.inputs[a])) for a, n in inputs.items()}
    value = graph.outputs[0]
    graph.outputs = [value] + forward_mode(graph, moving, roots=[value])
    return Derived("jvp", _finish(graph), wrt, param, inputs)


def vjp_graph(simplified, wrt, names):
    """Outputs: the value and the gradient of sum(cotangent * output) for each wrt input."""
    param = names.claim("cotangent")
    graph = _copy(simplified)
    seed = graph.input(param, graph.shape(graph.outputs[0]))
    differentiate(graph, wrt, seed=seed)
    return Derived("vjp", _finish(graph), wrt, param)


def jacobian_graph(simplified, wrt, names):
    """vjp's graph, run once per element of the output with the cotangent set to that basis vector: the forward
    lines once, the backward lines per row, each row of df/da stored in its block."""
    graph = _copy(simplified)
    output_shape = graph.shape(graph.outputs[0])
    if not output_shape:  # a scalar's Jacobian is its gradient: one backward pass, seeded with 1
        differentiate(graph, wrt)
        return Derived("jacobian", _finish(graph), wrt)
    seed = names.claim("cotangent")
    differentiate(graph, wrt, seed=graph.input(seed, output_shape))
    blocks = {(a,): names.claim(f"j_{a}") for a in wrt}
    return Derived("jacobian", _finish(graph), wrt, blocks=blocks, index=names.claim("i"), seed=seed)


def gradient_graph(simplified, wrt):
    """The simplified gradient graph, before lowering: what second derivatives differentiate."""
    graph = _copy(simplified)
    differentiate(graph, wrt)
    return simplify(graph)


def hvp_graph(simplified, wrt, names):
    """Outputs: the value, then the Hessian times one direction per wrt input, for each wrt input."""
    param = names.claim("vectors")
    graph = gradient_graph(simplified, wrt)
    inputs = _extra_inputs(wrt, names, "v")
    moving = {a: graph.input(n, graph.shape(graph.inputs[a])) for a, n in inputs.items()}
    graph.outputs = graph.outputs[:1] + forward_mode(graph, moving, roots=graph.outputs[1:])
    return Derived("hvp", _finish(graph), wrt, param, inputs)


def hessian_graph(simplified, wrt, names):
    """Outputs: the value, then block d2f/da db for b in wrt, for a in wrt (b varies slowest).

    A scalar b moves along the constant 1, so its blocks fold into closed form; an array b moves along a
    basis vector `v_b`, an input the generated function sets inside a loop over b's elements.
    """
    graph = gradient_graph(simplified, wrt)
    value, grads = graph.outputs[0], graph.outputs[1:]
    arrays = [b for b in wrt if graph.shape(graph.inputs[b])]
    inputs = _extra_inputs(arrays, names, "v")
    blocks = {}
    for b in wrt:
        direction = graph.input(inputs[b], graph.shape(graph.inputs[b])) if b in inputs else graph.const(1.0)
        blocks.update(zip([(a, b) for a in wrt], forward_mode(graph, {b: direction}, roots=grads)))
    graph.outputs = [value] + list(blocks.values())
    names_of = {key: names.claim(f"h_{key[0]}_{key[1]}") for key in blocks}
    return Derived("hessian", _finish(graph), wrt, None, inputs, names_of, names.claim("i") if arrays else None)


def _finish(graph):
    return simplify(graph)


BUILDERS = {"jvp": jvp_graph, "vjp": vjp_graph, "jacobian": jacobian_graph, "hvp": hvp_graph,
            "hessian": hessian_graph}
