"""The benchmark workloads: gradc source, shapes, data, and hand-written NumPy value-and-gradient.

Each workload has one loss written three ways:
  * `source`: the gradc expression (issue 7's list),
  * `loss(ns, ...)`: the same math against a NumPy-like namespace, shared by JAX, PyTorch and HIPS autograd
    (see competitors.py), written as the user wrote it, not hand-stabilised,
  * `hand_vag` / `hand_fwd`: NumPy written by hand as fast as we know how: the practical limit.
Parameters (`wrt`) are the model's weights; data (X, y, ...) gets no gradient, as in training.
"""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Workload:
    """One benchmark row family: a loss and the sizes it runs at."""
    name: str
    source: str
    inputs: tuple          # positional order: order of first appearance in `source`
    wrt: tuple
    shapes: dict           # gradc shape declarations; names absent here are scalars
    sizes: tuple           # dicts of dimension values, smallest first
    loss: Callable         # loss(ns, *inputs) on a NumPy-like namespace
    hand_vag: Callable     # hand_vag(*inputs) -> (value, {name: grad})
    hand_fwd: Callable     # hand_fwd(*inputs) -> value
    make: Callable = field(repr=False, default=None)  # make(rng, **dims) -> {name: array or float}

    def label(self, dims):
        """`least_squares 200000x100`-style row label."""
        if not dims:
            return self.name
        return f"{self.name} " + "x".join(str(v) for v in dims.values())

    def data(self, dims, seed=0):
        """Inputs for one size, in `inputs` order, deterministic for a seed."""
        arrays = self.make(np.random.default_rng(seed), **dims)
        return {k: arrays[k] for k in self.inputs}


# --- (x + y) * z: pure call overhead --------------------------------------------------------------

def _circuit_vag(x, y, z):
    t = x + y
    return t * z, {"x": z, "y": z, "z": t}


CIRCUIT = Workload(
    name="circuit", source="(x + y) * z", inputs=("x", "y", "z"), wrt=("x", "y", "z"), shapes={},
    sizes=({},), loss=lambda ns, x, y, z: (x + y) * z,
    hand_vag=_circuit_vag, hand_fwd=lambda x, y, z: (x + y) * z,
    make=lambda rng: {"x": -2.0, "y": 5.0, "z": -4.0},
)


# --- least squares ----------------------------------------------------------------------------------

def _lstsq_fwd(X, w, y):
    r = X @ w
    r -= y
    return 0.5 * (r @ r)


def _lstsq_vag(X, w, y):
    r = X @ w
    r -= y                       # r is fresh: in place is safe
    return 0.5 * (r @ r), {"w": X.T @ r}   # X.T is a view: BLAS gemv with trans, no copy


def _lstsq_make(rng, n, d):
    X = rng.standard_normal((n, d))
    return {"X": X, "w": rng.standard_normal(d) / np.sqrt(d), "y": rng.standard_normal(n)}


LEAST_SQUARES = Workload(
    name="least_squares", source="0.5*sum((X@w - y)**2)", inputs=("X", "w", "y"), wrt=("w",),
    shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)},
    sizes=({"n": 100, "d": 10}, {"n": 10_000, "d": 100}, {"n": 200_000, "d": 100}),
    loss=lambda ns, X, w, y: 0.5 * ns.sum((X @ w - y) ** 2),
    hand_vag=_lstsq_vag, hand_fwd=_lstsq_fwd, make=_lstsq_make,
)


# --- logistic regression ----------------------------------------------------------------------------

def _softplus(z):
    """log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)): stable, and ~7x faster than np.logaddexp(0, z)."""
    sp = np.abs(z)
    np.negative(sp, out=sp)
    np.exp(sp, out=sp)
    np.log1p(sp, out=sp)
    sp += np.maximum(z, 0.0)
    return sp


def _logistic_fwd(y, X, w, b):
    z = X @ w
    z += b
    # -y log s - (1-y) log(1-s) == softplus(z) - y z
    return (_softplus(z).sum() - y @ z) / z.shape[0]


def _logistic_vag(y, X, w, b):
    n = y.shape[0]
    z = X @ w
    z += b
    sp = _softplus(z)
    value = (sp.sum() - y @ z) / n
    r = np.subtract(z, sp, out=sp)  # fresh temporaries fault their pages in: reuse sp's
    np.exp(r, out=r)             # sigmoid(z) = exp(z - softplus(z)): stable both ways
    r -= y                       # n * d loss / d z = sigmoid(z) - y
    g_w = r @ X                  # == X.T @ r
    g_w /= n                     # scale the d-vector, not the n-vector
    return value, {"w": g_w, "b": r.sum() / n}


def _logistic_make(rng, n, d):
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / np.sqrt(d)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w)))).astype(np.float64)
    return {"X": X, "w": 0.5 * w, "b": 0.1, "y": y}


def _logistic_loss(ns, y, X, w, b):
    return ns.mean(-y * ns.log(ns.sigmoid(X @ w + b)) - (1 - y) * ns.log(1 - ns.sigmoid(X @ w + b)))


LOGISTIC = Workload(
    name="logistic",
    source="mean(-y*log(sigmoid(X@w + b)) - (1 - y)*log(1 - sigmoid(X@w + b)))",
    inputs=("y", "X", "w", "b"), wrt=("w", "b"),
    shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)},
    sizes=LEAST_SQUARES.sizes,
    loss=_logistic_loss, hand_vag=_logistic_vag, hand_fwd=_logistic_fwd,
    make=_logistic_make,
)


# --- two-layer network ------------------------------------------------------------------------------

def _sigmoid(z):
    """sigmoid via tanh: one transcendental, no overflow warning for large |z|."""
    p = np.tanh(0.5 * z)
    p += 1.0
    p *= 0.5
    return p


def _net_hidden(X, W1, b1):
    a = X @ W1
    a += b1
    return np.tanh(a, out=a)


def _net_fwd(X, W1, b1, w2, b2, y):
    h = _net_hidden(X, W1, b1)
    e = _sigmoid(h @ w2 + b2) - y
    return (e @ e) / y.shape[0]


def _net_vag(X, W1, b1, w2, b2, y):
    n = y.shape[0]
    h = _net_hidden(X, W1, b1)
    p = _sigmoid(h @ w2 + b2)
    e = p - y
    value = (e @ e) / n
    gz = (2.0 / n) * e           # d/dp of the mean square error
    gz *= p
    gz *= 1.0 - p                # sigmoid' = p (1 - p)
    g_w2 = gz @ h                # == h.T @ gz; h is dead after this, so ga reuses its buffer
    ga = np.multiply(h, h, out=h)
    np.subtract(1.0, ga, out=ga)  # tanh' = 1 - h^2
    ga *= gz[:, None]
    ga *= w2                     # d loss / d(X@W1 + b1) = (gz outer w2) * (1 - h^2)
    g_W1 = (ga.T @ X).T          # faster than X.T @ ga with OpenBLAS (transposed-A gemm is slow)
    return value, {"W1": g_W1, "b1": np.ones(n) @ ga, "w2": g_w2, "b2": gz.sum()}


def _net_make(rng, n, d, k):
    return {"X": rng.random((n, d)), "W1": rng.standard_normal((d, k)) / np.sqrt(d),
            "b1": 0.1 * rng.standard_normal(k), "w2": rng.standard_normal(k) / np.sqrt(k),
            "b2": 0.1, "y": (rng.random(n) < 0.5).astype(np.float64)}


def _net_loss(ns, X, W1, b1, w2, b2, y):
    h = ns.tanh(X @ W1 + b1)
    p = ns.sigmoid(h @ w2 + b2)
    return ns.mean((p - y) ** 2)


TWO_LAYER = Workload(
    name="two_layer", source="h = tanh(X@W1 + b1); p = sigmoid(h@w2 + b2); mean((p - y)**2)",
    inputs=("X", "W1", "b1", "w2", "b2", "y"), wrt=("W1", "b1", "w2", "b2"),
    shapes={"X": ("n", "d"), "W1": ("d", "k"), "b1": ("k",), "w2": ("k",), "y": ("n",)},
    sizes=({"n": 256, "d": 784, "k": 32}, {"n": 4096, "d": 784, "k": 32}),
    loss=_net_loss, hand_vag=_net_vag, hand_fwd=_net_fwd, make=_net_make,
)


# --- softmax regression -----------------------------------------------------------------------------

def _row_max(Z):
    """Z.max(axis=1), but one pass per column: NumPy reduces a short contiguous axis ~3x slower."""
    m = Z[:, 0].copy()
    for j in range(1, Z.shape[1]):
        np.maximum(m, Z[:, j], out=m)
    return m


def _softmax_core(X, W, Y):
    """(value, E, row sums of E) with E = exp(Z - rowmax(Z)) for Z = X @ W."""
    Z = X @ W
    m = _row_max(Z)
    yz = np.vdot(Y, Z)           # sum(Y*Z) as one BLAS ddot: no Y*Z temporary
    Z -= m[:, None]
    np.exp(Z, out=Z)             # Z now holds E = exp(Z - max): no second (n, c) buffer
    s = Z @ np.ones(Z.shape[1])  # row sums as a gemv: ~5x faster than Z.sum(axis=1) for 10 columns
    return (np.log(s).sum() + m.sum() - yz) / Z.shape[0], Z, s


def _softmax_fwd(X, W, Y):
    return _softmax_core(X, W, Y)[0]


def _softmax_vag(X, W, Y):
    value, E, s = _softmax_core(X, W, Y)
    E /= s[:, None]              # softmax(Z)
    E -= Y                       # n * d loss / d Z = softmax(Z) - Y
    g_W = X.T @ E                # with 64 features, faster than (E.T @ X).T with OpenBLAS (RESULTS.md)
    g_W /= X.shape[0]            # scale the (d, c) result, not the (n, c) array
    return value, {"W": g_W}


def _softmax_make(rng, n, d, c):
    X = rng.standard_normal((n, d))
    Y = np.eye(c)[rng.integers(0, c, n)]
    return {"X": X, "W": 0.1 * rng.standard_normal((d, c)), "Y": Y}


SOFTMAX = Workload(
    name="softmax", source="mean(logsumexp(X@W, axis=1) - sum(Y*(X@W), axis=1))",
    inputs=("X", "W", "Y"), wrt=("W",),
    shapes={"X": ("n", "d"), "W": ("d", "c"), "Y": ("n", "c")},
    sizes=({"n": 1797, "d": 64, "c": 10}, {"n": 100_000, "d": 64, "c": 10}),
    loss=lambda ns, X, W, Y: ns.mean(ns.logsumexp(X @ W, axis=1) - ns.sum(Y * (X @ W), axis=1)),
    hand_vag=_softmax_vag, hand_fwd=_softmax_fwd, make=_softmax_make,
)


# --- the lecture's one-example network -------------------------------------------------------------

def _lecture_fwd(W2, W1, x, b1, b2, y):
    a = W1 @ x
    a += b1
    e = np.tanh(W2 @ np.maximum(a, 0.0) + b2) - y
    return 0.5 * (e @ e)


def _lecture_vag(W2, W1, x, b1, b2, y):
    a = W1 @ x
    a += b1
    r = np.maximum(a, 0.0)
    t = W2 @ r
    t += b2
    np.tanh(t, out=t)
    e = t - y
    go = e * (1.0 - t * t)       # through tanh
    ga = go @ W2                 # W2.T @ go without a transpose
    ga *= a > 0                  # through relu
    return 0.5 * (e @ e), {"W2": np.outer(go, r), "W1": np.outer(ga, x), "b1": ga, "b2": go}


def _lecture_make(rng, d, h, k):
    return {"W2": rng.standard_normal((k, h)) / np.sqrt(h), "W1": rng.standard_normal((h, d)) / np.sqrt(d),
            "x": rng.standard_normal(d), "b1": 0.1 * rng.standard_normal(h),
            "b2": 0.1 * rng.standard_normal(k), "y": rng.standard_normal(k)}


LECTURE = Workload(
    name="lecture_net", source="0.5*sum((tanh(W2@relu(W1@x + b1) + b2) - y)**2)",
    inputs=("W2", "W1", "x", "b1", "b2", "y"), wrt=("W2", "W1", "b1", "b2"),
    shapes={"W2": ("k", "h"), "W1": ("h", "d"), "x": ("d",), "b1": ("h",), "b2": ("k",), "y": ("k",)},
    sizes=({"d": 64, "h": 32, "k": 10}, {"d": 784, "h": 128, "k": 10}),
    loss=lambda ns, W2, W1, x, b1, b2, y: 0.5 * ns.sum((ns.tanh(W2 @ ns.relu(W1 @ x + b1) + b2) - y) ** 2),
    hand_vag=_lecture_vag, hand_fwd=_lecture_fwd, make=_lecture_make,
)


# --- Gaussian negative log-likelihood (issue 12: slogdet and solve) ---------------------------------

def _gaussian_fwd(x, mu, S):
    r = x - mu
    half_logdet = np.log(np.diag(np.linalg.cholesky(S))).sum()  # log det S = 2 sum log diag L: S is SPD
    return half_logdet + 0.5 * (r @ np.linalg.solve(S, r))


def _gaussian_vag(x, mu, S):
    r = x - mu
    P = np.linalg.inv(S)  # the gradient needs S^-1 itself, so one inverse serves the solve too
    a = P @ r
    half_logdet = np.log(np.diag(np.linalg.cholesky(S))).sum()  # a third of an LU's flops
    value = half_logdet + 0.5 * (r @ a)
    P -= np.outer(a, a)  # P is fresh: in place is safe; S symmetric, so S^-T = S^-1
    P *= 0.5
    return value, {"mu": -a, "S": P}


def _gaussian_make(rng, d):
    A = rng.standard_normal((d, d))
    return {"x": rng.standard_normal(d), "mu": rng.standard_normal(d), "S": A @ A.T / d + np.eye(d)}


def _gaussian_loss(ns, x, mu, S):
    r = x - mu
    return 0.5 * ns.logabsdet(S) + 0.5 * (r @ ns.solve(S, r))


GAUSSIAN_NLL = Workload(
    name="gaussian_nll", source="r = x - mu; 0.5*slogdet(S)[1] + 0.5*(r @ solve(S, r))",
    inputs=("x", "mu", "S"), wrt=("mu", "S"), shapes={"x": ("d",), "mu": ("d",), "S": ("d", "d")},
    sizes=({"d": 10}, {"d": 100}, {"d": 500}),
    loss=_gaussian_loss, hand_vag=_gaussian_vag, hand_fwd=_gaussian_fwd, make=_gaussian_make,
)

# --- attention (issue 12: softmax over an axis, a dimension as a value) ----------------------------

def _attention_probabilities(Q, K):
    """softmax(Q K^T / sqrt(d)) by rows, Q scaled first (n x d, not the n x m scores), in place after the product."""
    S = (Q * (1.0 / np.sqrt(Q.shape[1]))) @ K.T
    S -= S.max(axis=1, keepdims=True)
    np.exp(S, out=S)
    S /= S.sum(axis=1, keepdims=True)
    return S


def _attention_fwd(Q, K, V, Y):
    R = _attention_probabilities(Q, K) @ V
    R -= Y
    return 0.5 * np.vdot(R, R)


def _attention_vag(Q, K, V, Y):
    A = _attention_probabilities(Q, K)
    R = A @ V
    R -= Y
    value = 0.5 * np.vdot(R, R)
    g_V = A.T @ R
    G = R @ V.T  # dL/dA, then the softmax's adjoint in place: A * (G - rowsum(G * A))
    G -= np.einsum("ij,ij->i", G, A)[:, None]
    G *= A
    scale = 1.0 / np.sqrt(Q.shape[1])
    return value, {"Q": (G @ K) * scale, "K": (G.T @ Q) * scale, "V": g_V}


def _attention_make(rng, n, m, d, e):
    return {"Q": rng.standard_normal((n, d)), "K": rng.standard_normal((m, d)), "V": rng.standard_normal((m, e)),
            "Y": rng.standard_normal((n, e))}


ATTENTION = Workload(
    name="attention", source="A = softmax(Q @ K.T / sqrt(d), axis=1); 0.5*sum((A @ V - Y)**2)",
    inputs=("Q", "K", "V", "Y"), wrt=("Q", "K", "V"),
    shapes={"Q": ("n", "d"), "K": ("m", "d"), "V": ("m", "e"), "Y": ("n", "e")},
    sizes=({"n": 128, "m": 128, "d": 32, "e": 32}, {"n": 1024, "m": 1024, "d": 64, "e": 64}),
    loss=lambda ns, Q, K, V, Y: 0.5 * ns.sum((ns.softmax(Q @ K.T / Q.shape[1] ** 0.5, axis=1) @ V - Y) ** 2),
    hand_vag=_attention_vag, hand_fwd=_attention_fwd, make=_attention_make,
)

ALL = (CIRCUIT, LEAST_SQUARES, LOGISTIC, TWO_LAYER, SOFTMAX, LECTURE, GAUSSIAN_NLL, ATTENTION)
