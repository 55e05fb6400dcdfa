"""Evaluate a graph node by node with each op's NumPy meaning: values for pictures, checks for tests."""
import numpy as np

from gradc import dimensions
from gradc.errors import ShapeError
from gradc.ops.indexing import Slice
from gradc.backend.schedule import dimension_names


def evaluate(graph, arrays):
    """Every needed node's value at `arrays` (input name -> array or number), as {node id: value}."""
    missing = [name for name in graph.inputs if name not in arrays]
    if missing:
        raise ShapeError(f"no value given for {', '.join(missing)}")
    sizes = _bind_dims(graph, arrays)
    values = {}
    with np.errstate(all="ignore"):
        for node in graph.order():
            data = graph[node]
            attrs = {k: _sizes_in(v, sizes) for k, v in data["attrs"]}
            if data["op"] == "input":  # the one op whose value is given, not computed
                values[node] = arrays[attrs["var"]]
            else:
                values[node] = graph.op(node).impl(*(values[a] for a in data["args"]), **attrs)
    return values


def _bind_dims(graph, arrays):
    sizes = {}
    dimension_names(graph)  # rejects clashing names
    for name, node in graph.inputs.items():
        declared = graph.shape(node)
        actual = np.shape(arrays[name])
        if len(actual) != len(declared):
            raise ShapeError(f"{name} has shape {actual}; expected {len(declared)} dimensions")
        for dim, size in zip(declared, actual):
            if sizes.setdefault(dim, size) != size or isinstance(dim, int) and dim != size:
                raise ShapeError(f"{name} has shape {actual}, which disagrees with dimension {dim}")
    return sizes


def _sizes_in(value, sizes):
    """An attribute with each named dimension given its size: shapes name dimensions, NumPy wants sizes.

    A tuple attribute holds dimensions (shape, dims), integers (axis) or an index, whose slices may have
    dimensions as bounds (a join's blocks); integers stay as they are.
    """
    if isinstance(value, tuple):
        return tuple(Slice(*_sizes_in(d, sizes)) if isinstance(d, Slice) else
                     dimensions.evaluate(d, sizes) if isinstance(d, str) else d for d in value)
    return value
