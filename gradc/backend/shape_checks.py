"""The shape checks every generated module opens with, written the same for any array library: each array's
shape against its declaration (binding the dimension names), and the sizes that indexing needs."""
from gradc import dimensions
from gradc.ops.indexing import Slice, consumed
from gradc.shapes import show


def index_checks(graph, variables):
    """`x[5]` with x of shape (n,) needs n >= 6, `x[2:]` of length n - 2 needs n >= 2: checked on entry, as the
    shape checks are, not left to an IndexError (or a slice NumPy clamps) in the middle of the function."""
    least = {}  # dimension -> (smallest size it may have, the indexing that needs it)

    def need(dim, size, node, fallback):
        if size > least.get(dim, (0, ""))[0]:
            span = graph[node]["span"]
            least[dim] = (size, span.text if span is not None else fallback)

    for node in graph.order():
        for dim in graph.shape(node):  # zeros((n - 2,)) needs n >= 2 as x[2:] does
            polynomial = dimensions.terms(dim)
            name = [m for m in polynomial if m][0] if len(polynomial) == 2 and () in polynomial else None
            if name is not None and len(name) == 1 and polynomial[name] == 1 and polynomial[()] < 0:
                need(name[0], -polynomial[()], node, f"a length {dim}")
        if graph[node]["op"] != "index":
            continue
        shape = graph.shape(graph.args(node)[0])
        for i, dim in zip(consumed(dict(graph[node]["attrs"])["index"]), shape):
            if dimensions.is_composite(dim) or isinstance(i, str):
                continue  # gradc's own cut of a join, inside its bounds by construction
            if isinstance(i, Slice):  # x[2:] of n elements has n - 2 where n >= 2
                size = i.symbolic_length(dim)[1] if isinstance(dim, str) else 0
            else:
                size = i + 1 if i >= 0 else -i
            if isinstance(dim, str):
                need(dim, size, node, f"index {i}")
    holder = {}
    for name, node in graph.inputs.items():
        for dim in graph.shape(node):
            holder.setdefault(dim, name)
    lines = []
    for dim, (need, text) in least.items():
        variable, name = variables[dim], holder[dim]
        text = text.replace("\\", "\\\\").replace('"', '\\"').replace("{", "{{").replace("}", "}}")  # f-string safe
        lines += [f"if {variable} < {need}:",
                  f'    raise ValueError(f"{name} has shape {{{name}.shape}}; {text} needs {dim} >= {need}")']
    return lines


def check_shape(name, dims, variables, bound):
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
    """`X: (n, d); labels: int (n,); b is a scalar`, for the module's docstring."""
    arrays = [f"{name}: {'int ' if graph.is_integer(node) else ''}{show(graph.shape(node))}"
              for name, node in graph.inputs.items() if graph.shape(node)]
    scalars = [name for name, node in graph.inputs.items() if not graph.shape(node)]
    parts = list(arrays)
    if scalars:
        verb = "is a scalar" if len(scalars) == 1 else "are scalars"
        parts.append(f"{', '.join(scalars)} {verb}")
    return "; ".join(parts) if parts else "no inputs"
