"""A separable loss in parts, each a generated module: kernels that run on a chunk of rows where it lives, and
the function of the reductions over rows that runs on the client.

For a loss L = F(S_1, ..., S_m, params) whose S_k are sums (or means) over rows:
    phase 1: each chunk computes its part of every S_k; the parts are summed (means weighted by rows).
    phase 2: the client evaluates F and its gradient, G_k = dF/dS_k among it; each chunk then computes the
             gradient of sum_k <G_k, S_k> (its share of G weighted as in phase 1), and those are summed:
             by the chain rule through the sums, dL/dparams = dF/dparams + sum_k G_k . dS_k/dparams.
A loss that is one reduction (a mean of per-row terms) takes one pass: each chunk's value and gradient.
"""
from dataclasses import dataclass

from gradc import pipeline
from gradc.backend.load import load_module
from gradc.graph import Graph


@dataclass(frozen=True)
class Kernel:
    """One function of a generated module, sent to the workers as the module's text (loaded there once)."""

    text: str
    function: str = "value_and_grad"  # "forward" where there is nothing to differentiate
    inputs: tuple = ()  # the module's INPUTS: what a call passes it

    def __call__(self, arrays):
        """The function at those of `arrays` the module takes."""
        function = getattr(load_module(self.text), self.function)
        return function(**{name: arrays[name] for name in self.inputs})


@dataclass(frozen=True)
class Plan:
    """The kernels of a loss split over its data dimension (see the module's docstring)."""

    split: object  # the separability.Split
    params: tuple  # the wrt inputs that are not data: the gradients the cluster returns
    whole: Kernel = None  # one pass: the loss itself, per chunk (value_and_grad; `hessian` for newton)
    sums: tuple = ()  # phase 1: one forward kernel per reduction
    outer: Kernel = None  # F(S..., params): value_and_grad, on the client
    names: tuple = ()  # the names F gives the reductions' values
    pullback: Kernel = None  # phase 2: value_and_grad of sum_k <G_k, S_k>, per chunk
    weights: tuple = ()  # the names the pullback gives the G_k


def plan(graph, split, wrt, dtype=None, command=""):
    """The Plan of `graph` (as parsed) over `split`, differentiating with respect to the params in `wrt`;
    `command` regenerates the whole loss's module (each kernel's header names its part of it)."""
    params = tuple(name for name in wrt if name not in split.axes)
    about = _about(graph, command)
    if split.single:
        (reduction,) = split.reductions
        whole = _copy(graph, [reduction.node], {})
        return Plan(split, params, whole=_kernel(whole, params, about("one chunk's loss"), dtype))
    taken = set(graph.inputs) | {d for node in graph.inputs.values() for d in graph.shape(node)
                                 if isinstance(d, str)}
    names = _fresh(graph, [r.node for r in split.reductions], "S", taken)
    weights = _fresh(graph, [r.node for r in split.reductions], "G", taken | set(names), named=False)
    sums = tuple(_kernel(_copy(graph, [r.node], {}, source=_text(graph, r.node)), (),
                         about(f"one chunk's part of {name}"), dtype, function="forward")
                 for r, name in zip(split.reductions, names))
    outer = _copy(graph, graph.outputs[:1], {r.node: name for r, name in zip(split.reductions, names)},
                  source=_outer_text(graph, split, names))
    outer_wrt = tuple(names) + tuple(name for name in params if name in outer.inputs)
    pullback = _pullback(graph, split, weights)
    pulled = tuple(name for name in params if name in pullback.inputs)  # the params the rows' part reads
    return Plan(split, params, sums=sums, names=names, weights=weights,
                outer=_kernel(outer, outer_wrt, about("the function of the sums over rows"), dtype),
                pullback=_kernel(pullback, pulled, about("one chunk's share of the chain rule through the sums"),
                                 dtype) if pulled else None)


def hessian(graph, plan, dtype=None, command=""):
    """The kernel of one chunk's Hessian blocks over the params, for a loss of one reduction (newton)."""
    (reduction,) = plan.split.reductions
    whole = _copy(graph, [reduction.node], {})
    wrt = tuple(name for name in plan.params if name in whole.inputs)
    stages = pipeline.run_graph(whole, wrt, _about(graph, command)("one chunk's Hessian"), dtype=dtype,
                                derived=("hessian",))
    return Kernel(stages.source, "hessian", tuple(whole.inputs))


@dataclass(frozen=True)
class SecondOrder:
    """The kernels of a function of sums' Hessian (newton): H = A.T @ H_F @ A + sum_k G_k . d2S_k, where A stacks
    each dS_k/dparams over the identity (z = (S, params) as a function of the params) and H_F is F's Hessian in z."""

    jacobians: tuple  # per reduction: one chunk's dS_k/dparams (its `jacobian`), None where S_k reads no param
    outer: Kernel  # F's Hessian blocks over its reductions and params
    pullback: Kernel = None  # one chunk's Hessian of sum_k <G_k, S_k> over the params


def second_order(graph, plan, dtype=None, command=""):
    """The SecondOrder of a Plan in two phases."""
    about = _about(graph, command)
    jacobians = []
    for reduction, name in zip(plan.split.reductions, plan.names):
        part = _copy(graph, [reduction.node], {}, source=_text(graph, reduction.node))
        wrt = tuple(p for p in plan.params if p in part.inputs)
        jacobians.append(_kernel(part, wrt, about(f"one chunk's dS/dparams of {name}"), dtype, ("jacobian",),
                                 "jacobian") if wrt else None)
    outer = _copy(graph, graph.outputs[:1], {r.node: name for r, name in zip(plan.split.reductions, plan.names)},
                  source=_outer_text(graph, plan.split, plan.names))
    wrt = tuple(plan.names) + tuple(p for p in plan.params if p in outer.inputs)
    pullback = _pullback(graph, plan.split, plan.weights)
    pulled = tuple(p for p in plan.params if p in pullback.inputs)
    return SecondOrder(tuple(jacobians), _kernel(outer, wrt, about("the Hessian of the function of the sums"), dtype,
                                                   ("hessian",), "hessian"),
                       _kernel(pullback, pulled, about("one chunk's Hessian of the chain rule's term"), dtype,
                               ("hessian",), "hessian") if pulled else None)


def _kernel(graph, wrt, command, dtype, derived=(), function="value_and_grad"):
    wrt = tuple(name for name in wrt if name in graph.inputs)  # a parameter this part does not read has no gradient here
    stages = pipeline.run_graph(graph, wrt, command, dtype=dtype, derived=derived if wrt else ())
    return Kernel(stages.source, function if wrt else "forward", tuple(graph.inputs))


def _copy(graph, roots, placeholders, into=None, source=None):
    """The part of `graph` that computes `roots`, with the nodes in `placeholders` (node -> name) as inputs of
    their shapes; the other inputs keep their order. Returns the new graph, whose outputs are the roots, and
    whose source (its module's title) is `source`, else `graph`'s."""
    new = Graph(graph.source if source is None else source) if into is None else into  # NOTE: an empty graph is falsy
    needed, stack = set(), list(roots)
    while stack:  # the ancestors of the roots, stopping at placeholders
        node = stack.pop()
        if node not in needed:
            needed.add(node)
            stack.extend(() if node in placeholders else graph.args(node))
    mapping = {}
    for name, node in graph.inputs.items():
        if node in needed:
            mapping[node] = new.input(name, graph.shape(node), span=graph[node]["span"])
    for node in sorted(needed):  # ids follow creation, arguments first
        data = graph[node]
        if node in placeholders:
            mapping[node] = new.input(placeholders[node], graph.shape(node), span=data["span"])
        elif node not in mapping:
            mapping[node] = new.add(data["op"], [mapping[a] for a in data["args"]], span=data["span"],
                                    name=data["name"], **dict(data["attrs"]))
    new.outputs = [mapping[root] for root in roots]
    return new


def _pullback(graph, split, weights):
    """sum_k sum(G_k * S_k) over one chunk: its gradient is the chunk's share of sum_k G_k . dS_k/dparams."""
    terms = [(f"{weight} * {_text(graph, r.node)}" if graph.shape(r.node) == () else
              f"sum({weight} * {_text(graph, r.node)})") for r, weight in zip(split.reductions, weights)]
    new = Graph(" + ".join(terms))
    copied = _copy(graph, [r.node for r in split.reductions], {}, into=new)
    total = None
    for node, weight in zip(copied.outputs, weights):
        term = new.add("mul", [new.input(weight, new.shape(node)), node])
        if new.shape(term) != ():
            term = new.add("sum", [term], axis=None, keepdims=False)
        total = term if total is None else new.add("add", [total, term])
    new.outputs = [total]
    return new


def _about(graph, command):
    """The `regenerate with` line of a kernel: its role, and the command of the loss it is a part of."""
    whole = command or f"gradc compile '{' '.join(graph.source.split())}'"
    return lambda role: f"{whole}, then gradc.cluster.kernels for {role}"


def _text(graph, node):
    """A reduction as the source wrote it, in parentheses where it is not one call: `mean((X@w - y)**2)`."""
    span = graph[node]["span"]
    text = span.text if span is not None else graph[node]["op"]
    return text if text.endswith(")") and text.count("(") == text.count(")") and text.split("(")[0].isidentifier() \
        else f"({text})"


def _outer_text(graph, split, names):
    """The loss as a function of its sums: `mean((X@w - y)**2) + 0.1*sum(w**2) where S1 = mean((X@w - y)**2)`."""
    where = ", ".join(f"{name} = {_text(graph, r.node)}" for r, name in zip(split.reductions, names))
    return f"{' '.join(graph.source.split())} where {where} over all rows"


def _fresh(graph, nodes, prefix, taken, named=True):
    """A name for each node: the one the source gave it where it is free (`total = sum(X@w)`), else S1, S2..."""
    names = []
    for k, node in enumerate(nodes, 1):
        name = graph[node]["name"] if named else None
        if name is None or name in taken:
            name = next(f"{prefix}{j}" for j in range(k, k + len(taken) + 2) if f"{prefix}{j}" not in taken)
        taken = taken | {name}
        names.append(name)
    return tuple(names)
