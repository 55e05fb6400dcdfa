"""Compare compiled gradients with central finite differences: `gradc check` and the tests use it."""
import math

import numpy as np

from gradc.errors import GradcError, ShapeError

MAX_DIFFERENCED = 100_000  # entries `gradc check` differences: each costs two evaluations of the whole function


def random_point(fn, at=None, seed=0, size=3):
    """Values for every input: those in `at`, random normals for the rest (named dims get `size`..)."""
    rng = _generator(seed)
    at = dict(at or {})
    graph = fn.stages.parsed
    stray = [name for name in at if name not in graph.inputs]
    if stray:  # a misspelt name would otherwise leave its input random, and the check at a point never asked for
        raise GradcError(f"a value is given for {', '.join(stray)}, which is not an input "
                         f"(inputs: {', '.join(graph.inputs)})")
    sizes = {}
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
        point[name] = _normal(rng, name, shape)
    return point


def _generator(seed):
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise GradcError(f"seed must be a whole number >= 0, got {seed!r}") from None


def _normal(rng, name, shape):
    if not shape:
        return float(rng.standard_normal())
    try:
        return rng.standard_normal(shape)
    except (MemoryError, ValueError) as error:  # ValueError: more entries than an array can index
        raise ShapeError(f"cannot make a random value for {name} of shape {shape}: {error}") from None


def limit_differences(fn, point, limit=MAX_DIFFERENCED):
    """Refuses a check that would difference more than `limit` entries, which would run for hours."""
    entries = sum(math.prod(np.shape(point[name])) for name in fn.wrt)
    if entries > limit:
        raise ShapeError(f"the check would difference {entries} entries, two evaluations of the function each "
                         f"(the limit is {limit}): give smaller sizes, or fewer inputs with --wrt")


def finite_differences(fn, point, name, eps=1e-6):
    """The gradient of `fn` with respect to input `name` by central differences."""
    _check_eps(eps)
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


def _check_eps(eps):
    try:
        step = float(eps)
    except (TypeError, ValueError):
        step = math.nan
    if not 0 < step < math.inf:  # 0 divides by zero; nan and inf make every row nan
        raise GradcError(f"eps must be a finite number > 0, got {eps!r}")


def compare(fn, point, eps=1e-6):
    """Rows (input, index, compiled, numeric, abs error, rel error) for every element of every gradient."""
    _check_eps(eps)
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
