"""Compare compiled gradients with central finite differences: `gradc check` and the tests use it."""
import numpy as np

from gradc.errors import ShapeError


def random_point(fn, at=None, seed=0, size=3):
    """Values for every input: those in `at`, random normals for the rest (named dims get `size`..)."""
    rng = np.random.default_rng(seed)
    at = dict(at or {})
    sizes = {}
    graph = fn.stages.parsed
    for name, node in graph.inputs.items():  # dims bound by given arrays first
        if name in at:
            for dim, n in zip(graph.shape(node), np.shape(at[name])):
                sizes.setdefault(dim, n)
    point = {}
    for name, node in graph.inputs.items():
        if name in at:
            point[name] = at[name] if np.ndim(at[name]) else float(at[name])
            continue
        shape = tuple(d if isinstance(d, int) else sizes.setdefault(d, size + len(sizes)) for d in graph.shape(node))
        point[name] = rng.standard_normal(shape) if shape else float(rng.standard_normal())
    return point


def finite_differences(fn, point, name, eps=1e-6):
    """The gradient of `fn` with respect to input `name` by central differences."""
    base = np.array(point[name], dtype=np.float64)
    grad = np.zeros_like(base)
    flat = grad.reshape(-1)
    for i in range(base.size):
        step = eps * max(1.0, abs(base.flat[i]))
        values = []
        for sign in (1, -1):
            shifted = base.copy()
            shifted.flat[i] += sign * step
            values.append(float(fn.forward(**{**point, name: shifted if shifted.shape else float(shifted)})))
        flat[i] = (values[0] - values[1]) / (2 * step)
    return grad


def compare(fn, point, eps=1e-6):
    """Rows (input, index, compiled, numeric, abs error, rel error) for every element of every gradient."""
    grads = fn.grad(**point)
    rows = []
    for name in fn.wrt:
        numeric = finite_differences(fn, point, name, eps)
        analytic = np.asarray(grads[name], dtype=np.float64)
        if analytic.shape != numeric.shape:
            raise ShapeError(f"gradient of {name} has shape {analytic.shape}, expected {numeric.shape}")
        for index in np.ndindex(numeric.shape):
            a, b = float(analytic[index]), float(numeric[index])
            error = abs(a - b)
            rows.append((name, index, a, b, error, error / max(1.0, abs(a), abs(b))))
    return rows
