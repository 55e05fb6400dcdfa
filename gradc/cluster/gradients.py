"""Value and gradient of a separable loss over row-chunked Dask data, on the current `distributed.Client`.

Each chunk's part runs as a task where the chunk lives; the parts (values, partial gradients: the parameters'
sizes) are summed pairwise in a tree of tasks on the workers, and only the root comes back. The data never
leaves the workers; the parameters travel once per step, inside the task graph.

NOTE: a Dask array made on the client from a NumPy array (`da.from_array`) carries its data inside its graph;
persist it once (`client.persist`) so that it stays on the workers rather than travelling with every step.
"""
import functools

import numpy as np

from gradc.cluster import kernels
from gradc.cluster.chunks import blocks, check_shapes, is_dask, row_chunks
from gradc.cluster.separability import SeparabilityError, split
from gradc.errors import GradcError


class ClusterError(GradcError):
    """No cluster to run on, or one that cannot be reached."""


def has_dask(arrays):
    return any(is_dask(value) for value in arrays.values())


def plan_for(fn, arrays):
    """The Plan for the Dask arrays among `arrays` as fn's data (cached on fn), after checking shapes and chunks."""
    graph = fn.stages.parsed
    dask = [name for name, value in arrays.items() if is_dask(value)]
    dims = [dim for dim in fn.separable if set(dask) <= set(split(graph, dim).axes)]
    if not dims:
        _refuse(fn, graph, dask)
    plans = fn.__dict__.setdefault("_cluster_plans", {})
    if dims[0] not in plans:
        plans[dims[0]] = kernels.plan(graph, split(graph, dims[0]), fn.wrt, fn.dtype, fn.stages.command)
    plan = plans[dims[0]]
    check_shapes(graph, arrays)
    return plan, row_chunks(plan.split, arrays)


def _refuse(fn, graph, dask):
    """The SeparabilityError that says why the Dask inputs cannot be a data dimension's chunks."""
    carried = [d for d in dict.fromkeys(d for name in dask for d in graph.shape(graph.inputs[name])
                                        if isinstance(d, str))
               if all(d in graph.shape(graph.inputs[name]) for name in dask)]
    for dim in carried:
        split(graph, dim)  # raises, naming the term that couples the rows
        data = ", ".join(split(graph, dim).axes)
        raise SeparabilityError(f"{', '.join(dask)} are Dask arrays, but the loss's data along {dim} is {data}: "
                                "pass the parameters as NumPy arrays")
    raise SeparabilityError(f"the Dask inputs {', '.join(dask)} share no dimension the loss is a sum over "
                            f"(separable in: {', '.join(fn.separable) or 'none'})")


def current_client():
    """The `distributed.Client` in use; a ClusterError where there is none."""
    import distributed
    try:
        return distributed.default_client()
    except ValueError:
        raise ClusterError("Dask arrays need a running cluster: start one with distributed.Client() (or "
                           "Client('tcp://scheduler:8786')) before calling with them") from None


def value_and_grad(fn, arrays):
    """(value, {param: gradient}) of fn at `arrays`, whose Dask arrays are the data: the cluster's version of
    fn.value_and_grad. Gradients with respect to the data inputs (as large as the data) are not computed: the
    dict holds the params' alone."""
    plan, rows = plan_for(fn, arrays)
    client = current_client()
    params = {name: value for name, value in arrays.items() if name not in plan.split.axes}
    run = functools.partial(_compute, client, blocks(plan.split, arrays, rows), params)
    return _value_and_grad(plan, params, rows, run)


def in_chunks(fn, arrays, dim, rows):
    """What value_and_grad computes on a cluster, in this process: the NumPy `arrays` carrying `dim` split into
    chunks of `rows` along it, each chunk's part computed alone and the parts summed. The tests' referee that
    a split over `dim` is sound, without a cluster."""
    graph = fn.stages.parsed
    found = split(graph, dim)
    plans = fn.__dict__.setdefault("_cluster_plans", {})
    if dim not in plans:
        plans[dim] = kernels.plan(graph, found, fn.wrt, fn.dtype, fn.stages.command)
    plan = plans[dim]
    params = {name: value for name, value in arrays.items() if name not in found.axes}
    edges = np.cumsum([0, *rows])
    chunks = [{name: np.take(arrays[name], np.arange(start, stop), axis=axis) for name, axis in found.axes.items()}
              for start, stop in zip(edges[:-1], edges[1:])]

    def run(task, kernel, weights):
        return functools.reduce(_add, [task(kernel, chunk, params, weight) for chunk, weight in zip(chunks, weights)])
    return _value_and_grad(plan, params, list(rows), run)


def _value_and_grad(plan, params, rows, run):
    """The value and the params' gradients, where `run(task, kernel, weights)` sums a task over the chunks."""
    total = sum(rows)
    if plan.whole is not None:
        value, grads = run(_chunk_gradient, plan.whole, _weights(plan.split.reductions[0], rows, total))
        return float(value), _complete(plan, params, grads)
    shares = [[_weights(r, rows, total)[k] for r in plan.split.reductions] for k in range(len(rows))]
    sums = run(_chunk_sums, plan.sums, shares)
    value, outer = plan.outer({**params, **dict(zip(plan.names, sums))})
    grads = {name: outer[name] for name in plan.params if name in outer}
    if plan.pullback is not None:
        weights = [{g: outer[s] * share for g, s, share in zip(plan.weights, plan.names, shares[k])}
                   for k in range(len(rows))]
        _, pulled = run(_chunk_pullback, plan.pullback, weights)
        for name, grad in pulled.items():  # a param may be read by F, by the rows' part, or by both
            grads[name] = grads[name] + grad if name in grads else grad
    return float(value), _complete(plan, params, grads)


def hessian(fn, arrays):
    """{a: {b: d2L/da db}} over the params (newton's method): each chunk's Hessian summed, for a loss of one
    reduction; for a function of sums, assembled from the sums' Jacobians, F's Hessian and the chain rule's
    second-order term (see `kernels.SecondOrder`)."""
    plan, rows = plan_for(fn, arrays)
    cache = fn.__dict__.setdefault("_cluster_hessians", {})
    if plan.split.dim not in cache:
        build = kernels.hessian if plan.whole is not None else kernels.second_order
        cache[plan.split.dim] = build(fn.stages.parsed, plan, fn.dtype, fn.stages.command)
    client = current_client()
    params = {name: value for name, value in arrays.items() if name not in plan.split.axes}
    chunks = blocks(plan.split, arrays, rows)
    if plan.whole is not None:
        weight = _weights(plan.split.reductions[0], rows, sum(rows))
        return _compute(client, chunks, params, _chunk_hessian, cache[plan.split.dim], weight)
    return _assembled(client, plan, cache[plan.split.dim], chunks, params, rows)


def _assembled(client, plan, order, chunks, params, rows):
    """H = A.T @ H_F @ A + the summed Hessians of sum_k <G_k, S_k>, as blocks over the params."""
    shares = [[_weights(r, rows, sum(rows))[k] for r in plan.split.reductions] for k in range(len(rows))]
    sums, jacobians = _compute(client, chunks, params, _chunk_jacobians, (plan.sums, order.jacobians), shares)
    at = {**params, **dict(zip(plan.names, sums))}
    _, outer = plan.outer(at)
    sizes = {name: int(np.size(params[name])) for name in plan.params}
    z = [(name, int(np.size(value))) for name, value in zip(plan.names, sums)] + list(sizes.items())
    offsets = dict(zip([name for name, _ in z], np.cumsum([0] + [size for _, size in z])[:-1]))
    columns = dict(zip(plan.params, np.cumsum([0] + list(sizes.values()))[:-1]))
    total = sum(sizes.values())
    A = np.zeros((sum(size for _, size in z), total))
    for name, value, jacobian in zip(plan.names, sums, jacobians):
        for param, block in (jacobian or {}).items():
            A[offsets[name]:offsets[name] + np.size(value), columns[param]:columns[param] + sizes[param]] = \
                np.reshape(block, (np.size(value), sizes[param]))
    for param in plan.params:
        A[offsets[param]:offsets[param] + sizes[param], columns[param]:columns[param] + sizes[param]] = np.eye(sizes[param])
    H = A.T @ _matrix(order.outer(at), offsets, dict(z), len(A)) @ A
    if order.pullback is not None:
        weights = [{g: outer[s] * share for g, s, share in zip(plan.weights, plan.names, shares[k])}
                   for k in range(len(rows))]
        H += _matrix(_compute(client, chunks, params, _chunk_pullback, order.pullback, weights), columns, sizes, total)
    return {a: {b: H[columns[a]:columns[a] + sizes[a], columns[b]:columns[b] + sizes[b]].reshape(
        np.shape(params[a]) + np.shape(params[b])) for b in plan.params} for a in plan.params}


def _matrix(blocks, offsets, sizes, total):
    """Nested Hessian blocks {a: {b: block}} as one matrix, placed by `offsets`; zeros where a block is missing."""
    H = np.zeros((total, total))
    for a, row in blocks.items():
        for b, block in row.items():
            H[offsets[a]:offsets[a] + sizes[a], offsets[b]:offsets[b] + sizes[b]] = np.reshape(block, (sizes[a], sizes[b]))
    return H


def _weights(reduction, rows, total):
    """Each chunk's factor in a reduction's sum: its share of the rows for a mean, 1 for a sum."""
    return [size / total if reduction.weighted else 1.0 for size in rows]


def _compute(client, chunks, params, task, kernel, weights):
    """Run `task(kernel, blocks, params, weight)` on every chunk where it lives, sum the results in a tree of
    tasks, and bring back the root alone."""
    import dask
    params = dask.delayed(params, traverse=False)  # one key, however many chunks read it
    parts = [dask.delayed(task, pure=True)(kernel, chunk, params, weight) for chunk, weight in zip(chunks, weights)]
    while len(parts) > 1:
        parts = [dask.delayed(_add, pure=True)(*parts[k:k + 2]) if k + 1 < len(parts) else parts[k]
                 for k in range(0, len(parts), 2)]
    return client.compute(parts[0], sync=True)


def _chunk_gradient(kernel, chunk, params, weight):
    result = kernel({**chunk, **params})
    value, grads = result if kernel.function == "value_and_grad" else (result, {})
    return value * weight, {name: np.multiply(grad, weight) for name, grad in grads.items()}


def _chunk_sums(kernels_, chunk, params, weights):
    return tuple(np.multiply(kernel({**chunk, **params}), weight) for kernel, weight in zip(kernels_, weights))


def _chunk_pullback(kernel, chunk, params, weights):
    return kernel({**chunk, **params, **weights})


def _chunk_jacobians(both, chunk, params, weights):
    """Each reduction's part and its Jacobian over the params (None where it reads none), weighted alike."""
    sums, jacobians = both
    arrays = {**chunk, **params}
    return (tuple(np.multiply(kernel(arrays), weight) for kernel, weight in zip(sums, weights)),
            tuple(None if kernel is None else {name: np.multiply(block, weight) for name, block in kernel(arrays).items()}
                  for kernel, weight in zip(jacobians, weights)))


def _chunk_hessian(kernel, chunk, params, weight):
    return {a: {b: np.multiply(block, weight) for b, block in row.items()} for a, row in kernel({**chunk, **params}).items()}


def _add(a, b):
    """The sum of two parts: numbers and arrays, or tuples and dicts of them (nested as the parts are)."""
    if a is None:
        return None
    if isinstance(a, dict):
        return {key: _add(a[key], b[key]) for key in a}
    if isinstance(a, tuple):
        return tuple(_add(x, y) for x, y in zip(a, b))
    return a + b


def _complete(plan, params, grads):
    """A gradient for every param, 0 for one the loss does not read; scalars as floats."""
    complete = {}
    for name in plan.params:
        grad = grads.get(name, np.zeros(np.shape(params[name])))
        complete[name] = float(grad) if np.ndim(grad) == 0 else np.asarray(grad)
    return complete
