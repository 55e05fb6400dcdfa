"""How every generated function opens: scalars made floats, arrays converted and checked against their shapes."""
from gradc.shapes import show


# Where Python floats and NumPy scalars part ways: x / 0 and 1e200 ** 2 raise for floats, give inf for NumPy.
_RAISING = ("div", "pow")


def python_floats(graph, dtype, derived=False):
    """Whether scalar inputs enter as Python floats rather than NumPy scalars.

    They do unless the float type is not float64, some scalar is divided or raised to a power (Python
    floats raise where NumPy gives inf), or `derived` functions (jvp, hvp, ...) with their own arithmetic
    share the opening. A Python float costs ~30 ns to make and its arithmetic ~4x less than a NumPy scalar's.
    """
    return not derived and dtype == "float64" and not any(_may_raise(graph, node) for node in graph.order())


def stays_python_float(graph, node, known):
    """Whether a scalar node is a Python float when scalar inputs are: built from them by + - * alone.

    `known` memoizes across calls; the walk goes operands first, so a long chain needs no recursion.
    """
    for ancestor in graph.order([node]):
        if ancestor not in known:
            op = graph[ancestor]["op"]
            divides_by_size = op == "div" and graph[graph.args(ancestor)[1]]["op"] in ("size", "const")
            closed = op in ("add", "sub", "mul", "neg", "accumulate") or divides_by_size
            known[ancestor] = not graph.shape(ancestor) and (op in ("input", "const") or closed and all(
                known[arg] for arg in graph.args(ancestor)))
    return known[node]


def entry(graph, plan, arrays, dtype, floats):
    """The statements that open each function: scalars made floats (Python floats where `floats`), arrays
    converted and checked. float() refuses an array given for a scalar, so that fails here rather than by
    broadcasting silently."""
    statements = []
    scalars = [name for name, node in graph.inputs.items() if not graph.shape(node)]
    if scalars:
        convert = "float({})" if floats else f"np.{dtype}(float({{}}))"
        converted = ", ".join(convert.format(name) for name in scalars)
        statements.append(f"{', '.join(scalars)} = {converted}")
    if arrays:
        statements.append(f"{', '.join(arrays + list(plan.dims.values()))} = _inputs({', '.join(arrays)})")
    return statements


def _may_raise(graph, node):
    """A scalar division or power, which Python floats may turn into an exception (not by a size: `t / n`)."""
    if graph[node]["op"] not in _RAISING or graph.shape(node):
        return False
    divisor = graph.args(node)[1]
    return not (graph[node]["op"] == "div" and (graph[divisor]["op"] == "size" or graph.value_of(divisor)))


def checks(graph, plan, dtype):
    """The body of `_inputs`: each array as `dtype`, its shape checked, the dimension names bound."""
    bound = set()
    lines = []
    for name, node in graph.inputs.items():
        dims = graph.shape(node)
        if dims:
            lines.append(f"{name} = np.asarray({name}, _DTYPE)")  # a dtype object: ~40 ns less than np.{dtype}
            lines += _check(name, dims, plan.dims, bound)
            bound.update(d for d in dims if isinstance(d, str))
    return lines


def _check(name, dims, variables, bound):
    declared = show(dims)
    if all(isinstance(d, int) or d in bound for d in dims):
        expected = "(" + ", ".join(variables.get(d, str(d)) for d in dims) + (",)" if len(dims) == 1 else ")")
        sizes = f" = {{{expected}}}" if any(isinstance(d, str) for d in dims) else ""
        return [f"if {name}.shape != {expected}:",
                f"    raise ValueError(f\"{name} has shape {{{name}.shape}}; expected {declared}{sizes}\")"]
    lines = []
    fixed = "".join(f" or {name}.shape[{i}] != {d}" for i, d in enumerate(dims) if isinstance(d, int))
    repeated = "".join(f" or {name}.shape[{i}] != {name}.shape[{dims.index(d)}]"
                       for i, d in enumerate(dims) if isinstance(d, str) and dims.index(d) != i)
    bound_here = "".join(f" or {name}.shape[{i}] != {variables[d]}" for i, d in enumerate(dims)
                         if isinstance(d, str) and d in bound and dims.index(d) == i)
    lines.append(f"if {name}.ndim != {len(dims)}{fixed}{repeated}{bound_here}:")
    lines.append(f"    raise ValueError(f\"{name} has shape {{{name}.shape}}; expected {declared}\")")
    fresh = [(i, d) for i, d in enumerate(dims) if isinstance(d, str) and d not in bound and dims.index(d) == i]
    if len(fresh) == len(dims) > 1:
        lines.append(", ".join(variables[d] for _, d in fresh) + f" = {name}.shape")
    else:
        lines.append(", ".join(variables[d] for _, d in fresh) + " = "
                     + ", ".join(f"{name}.shape[{i}]" for i, _ in fresh))
    return lines


def describe_shapes(graph):
    """`X: (n, d); w: (d,); b is a scalar`, for the module's docstring."""
    arrays = [f"{name}: {show(graph.shape(node))}" for name, node in graph.inputs.items() if graph.shape(node)]
    scalars = [name for name, node in graph.inputs.items() if not graph.shape(node)]
    parts = list(arrays)
    if scalars:
        verb = "is a scalar" if len(scalars) == 1 else "are scalars"
        parts.append(f"{', '.join(scalars)} {verb}")
    return "; ".join(parts) if parts else "no inputs"
