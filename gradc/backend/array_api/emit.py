"""Scheduled graph -> the text of a module written against the Python Array API standard.

Every function takes its namespace from its inputs (`array_api_compat.array_namespace`, through the module's
`_inputs`), so one module runs on NumPy, CuPy, PyTorch, JAX and dask.array arrays; its results keep the
inputs' float dtype and device. The module imports only array_api_compat, and no line writes into an array
but a scatter into one that the namespace says is writeable: `jax.jit` traces it as it stands.
"""
import re

from gradc.backend.array_api.emit_derived import builders
from gradc.backend.array_api.writer import Spelling, Writer
from gradc.backend.emit_text import docstring_safe, render
from gradc.backend.schedule import schedule
from gradc.backend.shape_checks import check_shape, describe_shapes, index_checks
from gradc.backend.tidy import tidy
from gradc.backend.writer import Function, Line
from gradc.naming import dimension_names

# The module-level helpers its lines may call (templates/array_api_helpers.py.j2), in the order it carries them.
HELPERS = ("_sigmoid", "_scatter", "_erf", "_prod_others", "_diagonal_matrix", "_take_along_add",
           "_singular_direction", "_logdet", "_take_add", "_direction", "_basis")
TEMPLATE = "array_api_module.py.j2"


def emit(graph, wrt, command, derived=(), dtype=None, readable=False, forward=None):
    """Render the Array API module computing `graph`'s outputs (the value, then one gradient per name in `wrt`).

    `dtype` is unused: the functions compute in their inputs' float dtype. `derived`: lowered `Derived` graphs
    (see `gradc.backend.numpy.emit_derived.derive`) whose functions (jvp, vjp, ...) follow. `forward`: the
    graph of the value alone, lowered on its own, that `forward` computes (default: `graph`).
    """
    arrays = [name for name, node in graph.inputs.items() if graph.shape(node)]
    scalars = [name for name, node in graph.inputs.items() if not graph.shape(node)]
    indices = _index_inputs(graph)
    first = next((name for name in arrays if name not in indices), arrays[0] if arrays else None)
    spelling = Spelling.avoiding(set(graph.inputs) | set(dimension_names(graph).values()))
    plan = schedule(graph, reserved=(spelling.xp, spelling.dtype, spelling.device))
    params = ", ".join(graph.inputs)
    opened = [spelling.xp, spelling.dtype, spelling.device, *graph.inputs, *plan.dims.values()]
    entry = [Line("raw", expr=f"{', '.join(opened)} = _inputs({params})")]
    writer = Writer(graph, plan, spelling, readable)
    value = graph.outputs[0]
    gradient_ = graph.shape(value) == ()
    functions = [_forward(forward or graph, spelling, entry, params, readable)]
    if gradient_:
        body = entry + [writer.line(node) for node in plan.forward]
        body += writer.backward(plan.backward) if wrt else []
        gradients = ", ".join(f'"{name}": {text}' for name, text in writer.gradients(wrt))
        functions.append(Function("value_and_grad", params, "", body, f"{writer.value(value)}, {{{gradients}}}"))
        functions.append(Function("gradient", params, "", [], f"value_and_grad({params})[1]"))
    derived_builders = builders(spelling)
    functions += [derived_builders[d.kind](d, graph.inputs, entry, readable) for d in derived]
    functions = [tidy(function) for function in functions]
    fields = dict(title=docstring_safe(graph.source), source=docstring_safe(graph.source), params=params,
                  shapes=describe_shapes(graph), command=docstring_safe(command), inputs=repr(tuple(graph.inputs)),
                  wrt_tuple=repr(tuple(wrt)), gradient=gradient_, spelling=spelling, arrays=arrays,
                  scalars=scalars, indices=indices, first=first, checks=_checks(graph, plan, arrays),
                  opened=", ".join(opened), dims=", ".join(plan.dims.values()))
    text = render(TEMPLATE, HELPERS, functions, **fields, linalg=())
    # the functions of the standard's optional linalg extension that the module calls (its helpers' included),
    # which `_inputs` checks the namespace for: read from the text, rendered again with them
    calls = tuple(sorted(set(re.findall(rf"\b(?:xp|{spelling.xp})\.linalg\.(\w+)", text))))
    return render(TEMPLATE, HELPERS, functions, **fields, linalg=calls) if calls else text


def _forward(graph, spelling, entry, params, readable):
    """The Function `forward`, from the graph of the value alone (scheduled and named on its own)."""
    plan = schedule(graph, reserved=(spelling.xp, spelling.dtype, spelling.device))
    writer = Writer(graph, plan, spelling, readable)
    body = entry + [writer.line(node) for node in plan.forward]
    return Function("forward", params, "", body, writer.value(graph.outputs[0]))


def _index_inputs(graph):
    """The inputs that hold integers: those declared so (`Int`), and any an op reads where its domain draws
    integers (take's indices in a graph built without the declaration)."""
    found = set(graph.integer_inputs())
    for node in graph.order():
        op = graph.op(node)
        for i, operand in enumerate(graph.args(node)):
            if op.operand_domain(i).integer and graph[operand]["op"] == "input":
                found.add(graph.attrs(operand)["var"])
    return found


def _checks(graph, plan, arrays):
    """The shape checks of `_inputs`, naming a shape as a tuple in their messages (a torch.Size is not one)."""
    bound, lines = set(), []
    for name in arrays:
        dims = graph.shape(graph.inputs[name])
        lines += check_shape(name, dims, plan.dims, bound)
        bound.update(d for d in dims if isinstance(d, str))
    lines += index_checks(graph, plan.dims)
    return [_tuple_shapes(line, arrays) for line in lines]


def _tuple_shapes(line, names):
    for name in names:
        line = line.replace(f"{{{name}.shape}}", f"{{tuple({name}.shape)}}")
    return line
