"""Row-chunked Dask arrays as the cluster code takes them: recognized without importing Dask, checked against a
loss's shapes and its data dimension before any work starts, and split into chunks or minibatches of chunks."""
import math

import numpy as np

from gradc.errors import GradcError, ShapeError
from gradc.shapes import show


class ChunkError(GradcError):
    """Dask data whose chunks do not follow the loss's data dimension."""


def is_dask(value):
    """A Dask collection (dask.array.Array), told by its type's module so that NumPy-only callers import no Dask."""
    return type(value).__module__.split(".")[0] == "dask" and hasattr(value, "chunks")


def check_shapes(graph, arrays):
    """A ShapeError where an array's shape does not fit its input's declared dims, all sizes read from the
    arrays' shapes alone (a Dask array's are known without computing it)."""
    sizes = {}
    for name, node in graph.inputs.items():
        dims, shape = graph.shape(node), tuple(np.shape(arrays[name]) if not is_dask(arrays[name])
                                             else arrays[name].shape)
        if any(isinstance(size, float) and math.isnan(size) for size in shape):
            raise ChunkError(f"{name} has chunks of unknown size: call {name}.compute_chunk_sizes() first")
        if len(dims) != len(shape):
            raise ShapeError(f"{name} has shape {show(shape)}, but it is declared {show(dims)}")
        for axis, (dim, size) in enumerate(zip(dims, shape)):
            if isinstance(dim, int) and dim != size:
                raise ShapeError(f"{name} has shape {show(shape)}, but it is declared {show(dims)}: axis {axis} "
                                 f"has {size}, not {dim}")
            known, where = sizes.setdefault(dim, (size, name))
            if known != size:
                raise ShapeError(f"{name} has shape {show(shape)}, but it is declared {show(dims)}, and {dim} is "
                                 f"{known} in {where}")
    return {dim: size for dim, (size, _) in sizes.items()}


def row_chunks(split, arrays):
    """The rows of each chunk along the data dimension, the same for every data input; a ChunkError where the
    data is chunked along another axis, differently between inputs, or unevenly."""
    found = {}
    for name, axis in split.axes.items():
        value = arrays[name]
        if not is_dask(value):
            dask = [other for other in split.axes if is_dask(arrays[other])]
            raise ChunkError(f"{name} is not a Dask array while {', '.join(dask)} is: the data inputs "
                             f"{', '.join(split.axes)} go to the cluster together, chunked alike along {split.dim}")
        for other, chunks in enumerate(value.chunks):
            if other != axis and len(chunks) > 1:
                raise ChunkError(f"{name} is chunked along axis {other}, which the loss is not a sum over (it is "
                                 f"separable in {split.dim}, axis {axis}): rechunk it as "
                                 f"{name}.rechunk({{{other}: -1}})")
        found[name] = tuple(value.chunks[axis])
    rows = next(iter(found.values()))
    if len(set(found.values())) > 1:
        listing = "; ".join(f"{name}: {_sizes(chunks)}" for name, chunks in found.items())
        raise ChunkError(f"the data inputs are chunked differently along {split.dim} ({listing}): rechunk them "
                         "alike, e.g. y.rechunk(X.chunks[0])")
    if min(rows) == 0 or any(size != rows[0] for size in rows[:-1]) or rows[-1] > rows[0]:
        raise ChunkError(f"the chunks split {split.dim} unevenly ({_sizes(rows)}): give every chunk the same rows, "
                         f"the last one fewer at most, e.g. {next(iter(found))}.rechunk({{{split.axes[next(iter(found))]}"
                         f": {rows[0]}}})")
    return rows


def blocks(split, arrays, rows):
    """For each chunk, {data input: its block as a dask.delayed}, in order along the data dimension."""
    delayed = {name: arrays[name].to_delayed() for name in split.axes}
    return [{name: grid[tuple(k if a == split.axes[name] else 0 for a in range(grid.ndim))]
             for name, grid in delayed.items()} for k in range(len(rows))]


def chunk_batches(data, batch_size, rng, shuffle=True):
    """Yields (epoch, batch, last_of_epoch) forever, as `gradc.optim.descent.batches`, for Dask data chunked
    alike along its first axis (the rows): each minibatch is whole chunks (enough for batch_size rows, one at
    least), drawn in a new order every epoch, so that no row moves between workers."""
    rows = {name: tuple(value.chunks[0]) if is_dask(value) else None for name, value in data.items()}
    if len(set(rows.values())) != 1:
        listing = "; ".join(f"{name}: {_sizes(chunks) if chunks else 'a NumPy array'}" for name, chunks in rows.items())
        raise ChunkError(f"minibatches of Dask data need every data array chunked alike along its rows ({listing})")
    chunks = next(iter(rows.values()))
    per_batch = max(1, round(batch_size / chunks[0]))
    for epoch in _count():
        order = rng.permutation(len(chunks)) if shuffle else np.arange(len(chunks))
        for start in range(0, len(chunks), per_batch):
            chosen = sorted(order[start:start + per_batch])
            batch = {name: _take(value, 0, chosen) for name, value in data.items()}
            yield epoch, batch, start + per_batch >= len(chunks)


def _take(array, axis, chosen):
    """The chunks `chosen` of `array` along `axis`, as a Dask array of those chunks only."""
    index = [slice(None)] * array.ndim
    index[axis] = list(chosen)
    return array.blocks[tuple(index)]


def _sizes(chunks):
    shown = ", ".join(map(str, chunks[:6])) + (", ..." if len(chunks) > 6 else "")
    return f"{len(chunks)} chunk{'s' if len(chunks) != 1 else ''} of {shown} rows"


def _count():
    epoch = 0
    while True:
        yield epoch
        epoch += 1
