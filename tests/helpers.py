"""Central finite differences, shared by the gradient tests."""
import numpy as np

RTOL = 1e-6
ATOL = 1e-7


def step(x):
    """ε ≈ 1e-6 · max(1, |x|), elementwise."""
    return 1e-6 * np.maximum(1.0, np.abs(x))


def numeric_grad(f, arrays, name):
    """∂f/∂arrays[name] by central differences, coordinate by coordinate (float64)."""
    x = np.array(arrays[name], dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        eps = float(step(x[i]))
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        hi = f(**{**arrays, name: plus if x.shape else float(plus)})
        lo = f(**{**arrays, name: minus if x.shape else float(minus)})
        grad[i] = (float(hi) - float(lo)) / (2 * eps)
    return grad


def directional(f, arrays, names, rng):
    """A random direction v over `names` and (f(x+εv) - f(x-εv)) / 2ε, autograd's check_vjp."""
    direction = {name: rng.standard_normal(np.shape(arrays[name])) for name in names}
    eps = 1e-6 * max(1.0, max(float(np.max(np.abs(arrays[n]), initial=0.0)) for n in names))
    plus = {**arrays, **{n: np.asarray(arrays[n]) + eps * direction[n] for n in names}}
    minus = {**arrays, **{n: np.asarray(arrays[n]) - eps * direction[n] for n in names}}
    for n in names:  # keep scalars as floats
        if np.shape(arrays[n]) == ():
            plus[n], minus[n] = float(plus[n]), float(minus[n])
    return direction, (float(f(**plus)) - float(f(**minus))) / (2 * eps)


def assert_grad_matches(f, grads, arrays, names, rng):
    """Analytic `grads` agree with central differences of `f`, per coordinate and along a random direction."""
    for name in names:
        expected = numeric_grad(f, arrays, name)
        np.testing.assert_allclose(grads[name], expected, rtol=RTOL, atol=ATOL,
                                   err_msg=f"gradient with respect to {name}")
    direction, slope = directional(f, arrays, names, rng)
    inner = sum(float(np.sum(np.asarray(grads[n]) * direction[n])) for n in names)
    np.testing.assert_allclose(inner, slope, rtol=RTOL, atol=ATOL, err_msg="directional derivative")
