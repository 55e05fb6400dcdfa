"""Newton's method for the descent driver: steps along H⁻¹g, with the Hessian from gradc.

`minimize(..., method="newton")` runs gradient descent on `NewtonStep(fn)`, whose "gradient" is the
Newton direction: with lr = 1 each update is u <- u - H⁻¹g, exact in one step on a quadratic.
"""
import numpy as np

from gradc.errors import GradcError

MAX_SIZE = 2000  # parameters; the Hessian has MAX_SIZE² entries and a dense solve costs MAX_SIZE³


class NewtonStep:
    """`fn` seen through Newton's method: value_and_grad returns (loss, {name: H⁻¹g for the params}).

    Where H is not positive definite (a saddle, a maximum, a flat direction) the step uses |H| instead
    (see `solve_damped`), so it still points downhill.
    """

    def __init__(self, fn, names):
        if not hasattr(fn, "hessian"):
            raise GradcError("method='newton' needs fn.hessian: pass a gradc.compile result, or a module "
                             "written with --emit hessian")
        self.fn = fn
        self.names = list(names)
        self.inputs = getattr(fn, "inputs", None)

    def value_and_grad(self, /, **arrays):
        loss, grads = self.fn.value_and_grad(**arrays)
        sizes = [int(np.size(arrays[name])) for name in self.names]
        if sum(sizes) > MAX_SIZE:
            raise GradcError(f"method='newton' is for up to {MAX_SIZE} parameters, got {sum(sizes)}: "
                             "use gd, momentum or adam")
        blocks = self.fn.hessian(**arrays)
        hessian = np.block([[np.reshape(blocks[a][b], (m, n)) for b, n in zip(self.names, sizes)]
                            for a, m in zip(self.names, sizes)])
        gradient = np.concatenate([np.ravel(grads[name]) for name in self.names])
        step = solve_damped(hessian, gradient)
        parts = np.split(step, np.cumsum(sizes)[:-1])
        return loss, {**grads, **{name: _shaped(part, arrays[name]) for name, part in zip(self.names, parts)}}


def solve_damped(hessian, gradient):
    """p with H p = g where H is positive definite; else |H| p = g, H's eigenvalues taken by size.

    |H| (saddle-free Newton, Dauphin et al. 2014) keeps the step's length along each eigenvector but
    always points it downhill; eigenvalues below 1e-6 of the largest are raised to that, so flat
    directions do not send the step to infinity.
    """
    if not np.all(np.isfinite(hessian)):
        return np.full_like(gradient, np.nan)  # the driver reports the divergence
    symmetric = 0.5 * (hessian + hessian.T)
    try:
        factor = np.linalg.cholesky(symmetric)
        return np.linalg.solve(factor.T, np.linalg.solve(factor, gradient))
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(symmetric)
        sizes = np.maximum(np.abs(values), 1e-6 * max(float(np.max(np.abs(values))), 1e-300))
        return vectors @ ((vectors.T @ gradient) / sizes)


def _shaped(part, like):
    return float(part[0]) if np.ndim(like) == 0 else part.reshape(np.shape(like))
