"""The references issue 12 names, typed as their users type them: the Matrix Cookbook's scalar-valued derivatives
(section 2), the NumPy functions HIPS autograd's tests differentiate, the jax.nn activations and common ML losses.

Each source is compiled as written and its gradient, with respect to every float input, is compared to 1e-8 with
Richardson-extrapolated central differences (error O(h^4), so the comparison can be that tight) at a random
point: uniform in (-1, 1), or where the source needs it, symmetric positive definite (S), well conditioned
(W: 2 I + noise), positive (P) or integer labels (labels).
"""
import numpy as np
import pytest

import gradc

SIZES = {"n": 4, "d": 3, "k": 2}
MATRIX, VECTOR, DATA = ("n", "n"), ("n",), ("n", "d")

COOKBOOK = [  # Matrix Cookbook section 2, by equation family
    ("trace(A @ X)", {"A": MATRIX, "X": MATRIX}),
    ("np.trace(X @ A @ X.T)", {"A": MATRIX, "X": MATRIX}),
    ("np.trace(X.T @ A @ X)", {"A": MATRIX, "X": DATA}),
    ("trace(X @ X)", {"X": MATRIX}),
    ("a @ X @ b", {"a": VECTOR, "X": MATRIX, "b": VECTOR}),
    ("a @ X.T @ b", {"a": VECTOR, "X": MATRIX, "b": VECTOR}),
    ("x @ A @ x", {"x": VECTOR, "A": MATRIX}),
    ("(X @ b - c) @ A @ (X @ b - c)", {"X": DATA, "b": ("d",), "c": VECTOR, "A": MATRIX}),
    ("np.linalg.norm(X, 'fro')**2", {"X": DATA}),
    ("np.linalg.det(W)", {"W": MATRIX}),
    ("np.log(np.linalg.det(S))", {"S": MATRIX}),
    ("np.linalg.slogdet(S)[1]", {"S": MATRIX}),
    ("np.trace(np.linalg.inv(W) @ A)", {"W": MATRIX, "A": MATRIX}),
    ("a @ np.linalg.inv(W) @ b", {"a": VECTOR, "W": MATRIX, "b": VECTOR}),
    ("b @ np.linalg.solve(S, b)", {"S": MATRIX, "b": VECTOR}),
    ("np.sum(np.linalg.cholesky(S))", {"S": MATRIX}),
    ("np.einsum('ij,ij', A, X)", {"A": DATA, "X": DATA}),
    ("np.einsum('i,ij,j->', a, X, b)", {"a": VECTOR, "X": DATA, "b": ("d",)}),
    ("np.tensordot(A, X, axes=2)", {"A": DATA, "X": DATA}),
    ("np.sum(np.outer(a, b) * X)", {"a": VECTOR, "b": ("d",), "X": DATA}),
    ("np.inner(a, b) * np.dot(a, b)", {"a": VECTOR, "b": VECTOR}),
    ("np.sum(np.kron(A, B))", {"A": ("k", "k"), "B": ("d", "d")}),
]

AUTOGRAD = [  # the NumPy functions autograd's own tests differentiate
    ("np.sum(np.cumsum(x)**2)", {"x": VECTOR}),
    ("np.prod(x)", {"x": VECTOR}),
    ("np.var(X, axis=0).sum()", {"X": DATA}),
    ("np.std(x)", {"x": VECTOR}),
    ("np.sum(np.max(X, axis=1))", {"X": DATA}),
    ("np.sum(np.tril(A)**2) + np.sum(np.triu(A, 1))", {"A": MATRIX}),
    ("np.sum(np.diag(A)**2) + np.sum(np.diag(x) @ A)", {"A": MATRIX, "x": VECTOR}),
    ("np.sum(np.concatenate((a, b))**2)", {"a": VECTOR, "b": ("d",)}),
    ("np.sum(np.stack([a, b]) * np.vstack([b, a]))", {"a": VECTOR, "b": VECTOR}),
    ("np.sum(np.roll(x, 1) * x)", {"x": VECTOR}),
    ("np.sum(np.reshape(X, (n * d,)) * np.ravel(X))", {"X": DATA}),
    ("np.sum(np.swapaxes(X, 0, 1) @ X)", {"X": DATA}),
    ("np.sum(np.repeat(x, 2)**2) + np.sum(np.tile(x, 2) * np.repeat(x, 2))", {"x": VECTOR}),
    ("np.sum(np.flip(x) * x)", {"x": VECTOR}),
    ("np.sum(np.clip(x, -0.5, 0.5)**2)", {"x": VECTOR}),
    ("np.sum(np.where(x > 0, x, 0.1 * x)**2)", {"x": VECTOR}),
    ("np.sum(np.sinh(x) + np.cosh(x) + np.log1p(x**2) + np.expm1(x) + np.arctan(x))", {"x": VECTOR}),
    ("np.sum(A @ B)", {"A": ("k", "n", "n"), "B": ("k", "n", "d")}),
    ("np.sum(np.linalg.norm(X, axis=1))", {"X": DATA}),
    ("np.logaddexp(a, b).sum()", {"a": VECTOR, "b": VECTOR}),
]

ACTIVATIONS = [  # jax.nn, as a user of it types them
    ("sum(relu(x) + sigmoid(x) + softplus(x) + silu(x) + gelu(x) + elu(x) + selu(x))", {"x": VECTOR}),
    ("sum(leaky_relu(x) + relu6(3 * x) + hard_tanh(2 * x) + log_sigmoid(x) + softsign(x) + mish(x))",
     {"x": VECTOR}),
    ("sum(softmax(X, axis=1) * Y) + sum(log_softmax(X, axis=-1)) + logsumexp(X)", {"X": DATA, "Y": DATA}),
]

LOSSES = [  # common ML losses
    ("0.5*sum((X@w - y)**2)", {"X": DATA, "w": ("d",), "y": VECTOR}),
    ("mean(log1p(exp(-y * (X @ w))))", {"X": DATA, "w": ("d",), "y": VECTOR}),
    ("mean(maximum(0, 1 - y * (X @ w)))", {"X": DATA, "w": ("d",), "y": VECTOR}),
    ("r = X @ w - y\nsum(where(abs(r) < 0.5, 0.5 * r**2, 0.5 * (abs(r) - 0.25)))", {"X": DATA, "w": ("d",), "y": VECTOR}),
    ("sum(P * (log(P) - log_softmax(Z, axis=1)))", {"P": DATA, "Z": DATA}),
    ("-mean(log_softmax(X @ W, axis=1)[np.arange(n), labels])", {"X": DATA, "W": ("d", "k"), "labels": VECTOR}),
    ("-np.sum(np.log(softmax(X @ W, axis=1))[np.arange(n), labels]) / n",
     {"X": DATA, "W": ("d", "k"), "labels": VECTOR}),
    ("r = x - m\n0.5 * np.linalg.slogdet(S)[1] + 0.5 * r @ np.linalg.solve(S, r)", {"x": VECTOR, "m": VECTOR, "S": MATRIX}),
    ("sum(softmax(Q @ K.T / np.sqrt(d), axis=1) @ V)", {"Q": DATA, "K": DATA, "V": DATA}),
    ("sum((X @ w - y)**2) + lam * w @ w + np.sum(np.abs(w))", {"X": DATA, "w": ("d",), "y": VECTOR}),
    ("h = tanh(X @ W1 + b1)\nmean((h @ w2 - y)**2)", {"X": DATA, "W1": ("d", "k"), "b1": ("k",), "w2": ("k",),
                                                     "y": VECTOR}),
]

NEWCOMER = [  # what a newcomer reached for
    ("x.sum() + X.mean(axis=1).sum() + np.sum(X, 1).sum()", {"x": VECTOR, "X": DATA}),
    ("np.sum(X[1:, 0] * x[1:]) + np.sum(x[None, :] * x[:, None])", {"X": ("n", "n"), "x": VECTOR}),
    ("np.sum(X**2) / n + np.sum(X) / X.shape[0] + np.sum(X) / len(X) + np.e * np.sum(X)", {"X": DATA}),
    ("np.dot(2.0, x).sum()", {"x": VECTOR}),
]

CASES = [pytest.param(source, shapes, id=f"{group}-{i}") for group, cases in
         (("cookbook", COOKBOOK), ("autograd", AUTOGRAD), ("jax.nn", ACTIVATIONS), ("loss", LOSSES),
          ("newcomer", NEWCOMER)) for i, (source, shapes) in enumerate(cases)]


def draw(name, shape, rng):
    """A point inside the domain the name stands for (see the module docstring)."""
    dims = tuple(SIZES.get(d, d) for d in shape)
    if name == "labels":
        return rng.integers(0, SIZES["k"], size=dims)
    if name == "S":
        a = rng.uniform(-1, 1, size=dims)
        return a @ a.T + dims[0] * np.eye(dims[0])
    if name == "W" and len(dims) == 2 and dims[0] == dims[1]:
        return 2 * np.eye(dims[0]) + rng.uniform(-0.3, 0.3, size=dims)
    if name == "P":
        return rng.uniform(0.2, 1.0, size=dims)
    return rng.uniform(-1, 1, size=dims) if dims else float(rng.uniform(0.5, 1.5))


def richardson(f, x, h=1e-3):
    """df/dx by central differences at h and h/2 combined to cancel the h**2 error term."""
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        def central(step):
            plus, minus = x.copy(), x.copy()
            plus[i] += step
            minus[i] -= step
            return (f(plus) - f(minus)) / (2 * step)
        grad[i] = (4 * central(h / 2) - central(h)) / 3
    return grad


@pytest.mark.parametrize("source, shapes", CASES)
def test_the_reference_compiles_as_typed_and_its_gradient_is_right(source, shapes):
    rng = np.random.default_rng(12)
    declared = {name: gradc.Int(*shape) if name == "labels" else shape for name, shape in shapes.items()}
    fn = gradc.compile(source, shapes=declared)
    point = {name: draw(name, shapes.get(name, ()), rng) for name in fn.inputs}
    value, grads = fn.value_and_grad(**point)
    assert np.isfinite(value)
    for name in grads:
        def f(x, name=name):
            return float(fn(**{**point, name: x if np.ndim(x) else float(x)}))
        np.testing.assert_allclose(grads[name], richardson(f, point[name]), rtol=1e-8, atol=1e-9,
                                   err_msg=f"d({source})/d{name}")


def test_the_reference_differences_resolve_an_error_of_one_part_in_ten_million():
    x = np.random.default_rng(3).uniform(-1, 1, size=5)
    numeric = richardson(lambda v: float(np.sum(np.sin(v) * v**3)), x)
    exact = np.cos(x) * x**3 + 3 * np.sin(x) * x**2
    np.testing.assert_allclose(numeric, exact, rtol=1e-9, atol=1e-11)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(exact * (1 + 1e-7) + 1e-8, numeric, rtol=1e-8, atol=1e-9)
