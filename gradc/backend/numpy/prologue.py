"""How every generated function opens: scalars made floats, arrays converted and checked against their shapes."""
import numpy as np

from gradc.backend.shape_checks import check_shape, index_checks
from gradc.errors import GradcError
from gradc.ops.gathers import index_reads
from gradc.ops.registry import CLOSED, DIVIDES, RAISES

# NumPy's dtype kinds of real numbers (bool, int, unsigned int, float): what the modules' _array and _scalar take.
REAL_KINDS = "biuf"


def python_floats(graph, dtype, derived=False):
    """Whether scalar inputs enter as Python floats rather than NumPy scalars.

    They do unless the float type is not float64, some scalar is divided or raised to a power (Python
    floats raise where NumPy gives inf), or `derived` functions (jvp, hvp, ...) with their own arithmetic
    share the opening. A Python float passes as it is (np.float64(x) costs ~30 ns), and its arithmetic costs
    ~4x less than a NumPy scalar's.
    """
    return not derived and dtype == "float64" and not any(_may_raise(graph, node) for node in graph.order())


def stays_python_float(graph, node, known):
    """Whether a scalar node is a Python float when scalar inputs are: built from them by ops closed on Python
    floats (+ - *, their entries say; a division by a nonzero constant).

    `known` memoizes across calls; the walk goes operands first, so a long chain needs no recursion.
    """
    for ancestor in graph.order([node]):
        if ancestor not in known:
            floats = graph.op(ancestor).floats
            closed = floats == CLOSED or floats == DIVIDES and _safe_divisor(graph, graph.args(ancestor)[-1])
            known[ancestor] = not graph.shape(ancestor) and closed and all(known[arg] for arg in graph.args(ancestor))
    return known[node]


def entry(graph, plan, arrays, dtype, floats):
    """The statements that open each function: scalars made floats (Python floats where `floats`), arrays
    converted and checked.

    A Python float passes with one identity test (cheaper than float(), which it makes unnecessary);
    anything else goes through the module's `_scalar`, which refuses an array given for a scalar rather
    than broadcasting it silently, and a complex number rather than cutting it to its real part (float()
    of a NumPy complex only warns).
    """
    statements = []
    scalars = [name for name, node in graph.inputs.items() if not graph.shape(node)]
    if scalars:
        statements.append("if " + " or ".join(f"{name}.__class__ is not float" for name in scalars) + ":")
        converted = ", ".join(f'_scalar("{name}", {name})' for name in scalars)
        statements.append(f"    {', '.join(scalars)} = {converted}")
        if not floats:
            statements.append(f"{', '.join(scalars)} = " + ", ".join(f"np.{dtype}({name})" for name in scalars))
    if arrays:
        statements.append(f"{', '.join(arrays + list(plan.dims.values()))} = _inputs({', '.join(arrays)})")
    return statements


def _may_raise(graph, node):
    """A scalar op that Python floats may turn into an exception where NumPy gives inf: a power, or a division
    (not by a count or a nonzero constant: `t / n`)."""
    floats = graph.op(node).floats
    if graph.shape(node) or floats not in (RAISES, DIVIDES):
        return False
    return floats == RAISES or not _safe_divisor(graph, graph.args(node)[-1])


def _safe_divisor(graph, divisor):
    """A count or a nonzero constant, which no division by it can raise on."""
    return graph[divisor]["op"] == "size" or bool(graph.value_of(divisor))


def checks(graph, plan, dtype):
    """The body of `_inputs`: each array as `dtype`, its shape checked, the dimension names bound."""
    bound = set()
    lines = []
    for name, node in graph.inputs.items():
        dims = graph.shape(node)
        if graph.is_integer(node):
            lines += [f"{name} = np.asarray({name})", f'if {name}.dtype.kind not in "iu":',
                      f'    raise TypeError(f"{name} holds indices: it must be an array of integers, not '
                      f'{{{name}.dtype}}")']
            lines += check_shape(name, dims, plan.dims, bound)
            bound.update(d for d in dims if isinstance(d, str))
        elif dims:
            # asarray without a dtype, then an identity test, is ~60 ns less than np.asarray(x, _DTYPE) for an
            # array that is _DTYPE already; `_array` converts the others, refusing complex numbers and text
            lines += [f"{name} = np.asarray({name})", f"if {name}.dtype is not _DTYPE:",
                      f'    {name} = _array("{name}", {name})']
            lines += check_shape(name, dims, plan.dims, bound)
            bound.update(d for d in dims if isinstance(d, str))
    return lines + index_checks(graph, plan.dims) + range_checks(graph, plan.dims)


def range_checks(graph, variables):
    """Each integer input that a gather reads, checked to hold indices in range for the axis it indexes
    ([-c, c), as NumPy takes them): an IndexError naming the input on entry, not NumPy's from the middle."""
    needs = {}  # (input, dim) -> the gather's source text
    for node, name, dim in index_reads(graph):
        span = graph[node]["span"]
        needs.setdefault((name, dim), span.text if span is not None else graph[node]["op"])
    lines = []
    for (name, dim), text in needs.items():
        size = variables.get(dim, str(dim))
        text = text.replace("\\", "\\\\").replace('"', '\\"').replace("{", "{{").replace("}", "}}")
        lines += [f"if {name}.size and ({name}.min() < -{size} or {name}.max() >= {size}):",
                  f'    raise IndexError(f"{name} holds indices from {{{name}.min()}} to {{{name}.max()}}; {text} '
                  f'needs them in [-{dim}, {dim}) = [{{-{size}}}, {{{size}}})")']
    return lines



def real(value, what):
    """`value` as float64 (a float for a scalar), or a GradcError naming `what`.

    The generated modules' check on entry, for the values gradc itself takes (tangents, cotangents, the
    points of pictures): real numbers only, so a complex number is refused rather than cut to its real
    part, and text or None gets a message rather than a traceback.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # a ragged list
        raise GradcError(f"{what} is not an array of numbers: {error}") from None
    if array.dtype.kind not in REAL_KINDS:
        given = f"{value!r:.40}" if array.ndim == 0 else f"an array of {array.dtype}"
        raise GradcError(f"{what} must be a real number or an array of real numbers, not {given}")
    return float(array) if array.ndim == 0 else array.astype(np.float64)

