"""How every generated function opens: scalars made floats, arrays converted and checked against their shapes."""
from gradc.shapes import show


def entry(graph, plan, arrays, dtype):
    """The statements that open each function."""
    statements = []
    scalars = [name for name, node in graph.inputs.items() if not graph.shape(node)]
    if scalars:  # an array given for a scalar fails here, not by broadcasting silently
        # NOTE: float() refuses arrays; the NumPy scalar makes x / 0 and 1e200 ** 2 give inf, as arrays do,
        # where Python floats raise.
        converted = ", ".join(f"np.{dtype}(float({name}))" for name in scalars)
        statements.append(f"{', '.join(scalars)} = {converted}")
    if arrays:
        statements.append(f"{', '.join(arrays + list(plan.dims.values()))} = _inputs({', '.join(arrays)})")
    return statements


def checks(graph, plan, dtype):
    """The body of `_inputs`: each array as `dtype`, its shape checked, the dimension names bound."""
    bound = set()
    lines = []
    for name, node in graph.inputs.items():
        dims = graph.shape(node)
        if dims:
            lines.append(f"{name} = np.asarray({name}, dtype=np.{dtype})")
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
