"""Lets `scipy.optimize.minimize(..., jac=True)` drive a gradc function over several parameter arrays.

SciPy optimizes one flat vector; `FlatObjective` lays the parameters end to end in a fixed order and
cuts the vector back into named arrays of the original shapes on every call.
"""
import numpy as np

from gradc.errors import GradcError


class FlatObjective:
    """`objective(x) -> (loss, flat_gradient)` for a function of named parameters and fixed data.

    >>> class Bowl:
    ...     def value_and_grad(self, a, b):
    ...         return float(a @ a + b * b), {"a": 2 * a, "b": 2 * b}
    >>> objective = FlatObjective(Bowl(), {"a": np.ones(2), "b": 3.0})
    >>> objective.x0
    array([1., 1., 3.])
    >>> objective(objective.x0)
    (11.0, array([2., 2., 6.]))
    >>> objective.unpack(np.arange(3.0))
    {'a': array([0., 1.]), 'b': 2.0}
    """

    def __init__(self, fn, params, data=None):
        if not params:
            raise GradcError("FlatObjective needs at least one parameter")
        for name, value in params.items():  # float64 would cut a complex value to its real part, with a warning
            dtype = np.asarray(value).dtype
            if dtype.kind not in "fiub":
                raise GradcError(f"parameter {name!r} has dtype {dtype}: scipy_minimize takes real numbers")
        self.fn, self.data = fn, dict(data or {})
        self.names = tuple(params)
        self.shapes = {name: np.shape(value) for name, value in params.items()}
        self.x0 = self.pack(params)

    def pack(self, params):
        """{name: array} -> one float64 vector, in the order of `names`."""
        return np.concatenate([np.ravel(np.asarray(params[n], dtype=np.float64)) for n in self.names])

    def unpack(self, x):
        """One vector -> {name: array of its shape}; scalars come back as floats."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape != self.x0.shape:
            raise GradcError(f"expected a vector of {self.x0.size} values, got shape {x.shape}")
        out, start = {}, 0
        for name in self.names:
            shape = self.shapes[name]
            size = int(np.prod(shape))
            piece = x[start:start + size]
            # Copies, so a caller changing x afterwards (scipy reuses its buffers) cannot change them.
            out[name] = float(piece[0]) if shape == () else piece.reshape(shape).copy()
            start += size
        return out

    def __call__(self, x):
        loss, grads = self.fn.value_and_grad(**self.unpack(x), **self.data)
        missing = [name for name in self.names if name not in grads]
        if missing:
            raise GradcError(f"fn gives no gradient for {', '.join(map(repr, missing))}")
        return float(loss), self.pack(grads)


def scipy_minimize(fn, params, data=None, method="L-BFGS-B", **options):
    """Runs `scipy.optimize.minimize` on `fn` and returns (params dict, scipy's OptimizeResult).

    Args:
        fn: any object with `value_and_grad(**arrays)`.
        params: {name: initial value}.
        data: {name: array} held fixed.
        method, options: passed to `scipy.optimize.minimize` (e.g. `tol`, `options={"maxiter": 500}`).
    """
    try:
        from scipy.optimize import minimize  # optional: scipy is not a dependency of gradc itself
    except ImportError:
        raise GradcError("scipy_minimize needs scipy: pip install scipy") from None
    objective = FlatObjective(fn, params, data)
    result = minimize(objective, objective.x0, jac=True, method=method, **options)
    return objective.unpack(result.x), result
