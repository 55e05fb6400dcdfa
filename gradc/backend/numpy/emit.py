"""Scheduled graph -> module text: every generated function is a Function record from one builder table,
rendered by one template (templates/module.py.j2) that loops over the module's helpers and functions."""
import numpy as np

from gradc.ops.elementwise import SIGMOID_TAIL
from gradc.backend.numpy import emit_derived
from gradc.backend.numpy.prologue import checks, entry, python_floats
from gradc.backend.emit_text import docstring_safe, render
from gradc.backend.shape_checks import describe_shapes
from gradc.backend.numpy.reuse import plan_reuse
from gradc.backend.schedule import schedule
from gradc.backend.tidy import tidy
from gradc.backend.numpy.writer import Writer
from gradc.backend.writer import Function, Line

# The module-level helpers (templates/helpers.py.j2, one macro each), in the order a module carries them.
HELPERS = ("_row_max", "_outer", "_sigmoid", "_softplus", "_direction", "_prod_others", "_singular_direction",
           "_erf", "_logdet")


class Unit:
    """What the builders of the main graph's functions share: its schedule, names and opening statements."""

    def __init__(self, graph, wrt, dtype, derived, readable=False):
        self.graph = graph
        self.readable = readable
        self.wrt = wrt
        self.plan = schedule(graph)
        self.dtype = dtype
        self.python_floats = python_floats(graph, dtype, derived)
        self.params = ", ".join(graph.inputs)
        self.arrays = [name for name, node in graph.inputs.items() if graph.shape(node)]
        self.entry = [Line("raw", expr=statement)
                      for statement in entry(graph, self.plan, self.arrays, dtype, self.python_floats)]

    def writer(self, nodes, keep):
        """The writer of one function computing `nodes`: fast, its lines write into dying buffers (reuse.py)
        other than `keep`'s; readable, no line writes in place."""
        reuse = {} if self.readable else plan_reuse(self.graph, nodes, keep)
        return Writer(self.graph, self.plan, self.dtype, self.python_floats, reuse, self.readable)


def forward(unit):
    graph = unit.graph
    writer = unit.writer(unit.plan.forward, {graph.outputs[0]})
    body = unit.entry + [writer.line(node) for node in unit.plan.forward]
    return Function("forward", unit.params, "", body, writer.value(graph.outputs[0]))


def value_and_grad(unit):
    graph, plan = unit.graph, unit.plan
    keep = set(graph.outputs) | {alias.value for alias in [*plan.aliases.values(), *plan.partial_aliases.values()]}
    writer = unit.writer(plan.forward + plan.backward, keep)
    body = unit.entry + [writer.line(node) for node in plan.forward]
    body += writer.backward(plan.backward) if unit.wrt else []
    gradients = ", ".join(f'"{name}": {text}' for name, text in writer.gradients(unit.wrt))
    return Function("value_and_grad", unit.params, "", body, f"{writer.value(graph.outputs[0])}, {{{gradients}}}")


def gradient(unit):
    return Function("gradient", unit.params, "", [], f"value_and_grad({unit.params})[1]")


# Every generated function's builder: the main graph's take the Unit, the derived ones (jvp, vjp, jacobian, hvp,
# hessian) a `gradc.transform.derivatives.Derived` and the user's inputs.
BUILDERS = {"forward": forward, "value_and_grad": value_and_grad, "gradient": gradient, **emit_derived.BUILDERS}


def emit(graph, wrt, command, derived=(), dtype=None, readable=False, forward=None):
    """Render the module computing `graph`'s outputs (the value, then one gradient per name in `wrt`).

    Args:
        readable: as a textbook prints it: no in-place writes, each backward line commented with its
            chain-rule step, branch sums said on their line (the default is the fast module).
        derived: lowered `Derived` graphs (see `emit_derived.derive`) whose functions (jvp, vjp, ...) follow.
        dtype: the float type of the returned gradients (float64 unless compiled from float32 examples).
        forward: the graph of the value alone, lowered on its own, that `forward` computes (default: `graph`).
    """
    unit = Unit(graph, wrt, np.dtype(dtype or np.float64).name, bool(derived), readable)
    value_unit = unit if forward is None else Unit(forward, (), unit.dtype, bool(derived), readable)
    gradient_ = graph.shape(graph.outputs[0]) == ()  # a non-scalar output has none; with wrt=() it is {}
    kinds = ("value_and_grad", "gradient") if gradient_ else ()
    functions = [BUILDERS["forward"](value_unit)] + [BUILDERS[kind](unit) for kind in kinds]
    functions += [BUILDERS[d.kind](d, graph.inputs, unit.entry, readable) for d in derived]
    functions = [tidy(function) for function in functions]
    return render(
        "module.py.j2", HELPERS, functions,
        title=docstring_safe(graph.source), source=docstring_safe(graph.source), params=unit.params,
        shapes=describe_shapes(graph), command=docstring_safe(command),
        inputs=repr(tuple(graph.inputs)), wrt_tuple=repr(tuple(wrt)), gradient=gradient_,
        checks=checks(graph, unit.plan, unit.dtype), array_params=", ".join(unit.arrays),
        returned_inputs=", ".join(unit.arrays + list(unit.plan.dims.values())), dtype=unit.dtype,
        dims=", ".join(unit.plan.dims.values()), sigmoid_tail=repr(SIGMOID_TAIL))
