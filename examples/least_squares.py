"""Least squares by gradient descent, checked against numpy.linalg.lstsq.

The lecture's loss f(w) = 0.5 * ||X w - y||^2 has gradient X^T (X w - y); gradc derives it, and the driver
runs the lecture's loop until the loss stops changing. Run: python examples/least_squares.py
"""
import numpy as np

import gradc
from gradc.optim.descent import minimize
from gradc.optim.lr_schedules import StepDecay
from gradc.optim.scipy_adapter import scipy_minimize

SOURCE = "0.5 * sum((X @ w + b - y)**2)"


def make_data(n=200, d=5, seed=0):
    rng = np.random.default_rng(seed)
    # Features on different scales make the problem ill-conditioned: where momentum pays off.
    X = rng.normal(size=(n, d)) * np.geomspace(0.2, 2.0, d)
    y = X @ rng.normal(size=d) + 0.5 + 0.3 * rng.normal(size=n)
    return X, y


def main():
    X, y = make_data()
    n, d = X.shape
    fn = gradc.compile(SOURCE, shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)})
    design = np.column_stack([X, np.ones(n)])
    exact = np.linalg.lstsq(design, y, rcond=None)[0]
    # The largest curvature L bounds the step: lr = 1/L can never overshoot.
    lr = 1.0 / np.linalg.eigvalsh(design.T @ design).max()
    init, data = {"w": np.zeros(d), "b": 0.0}, {"X": X, "y": y}

    print(f"least squares, X {X.shape}, loss {SOURCE}; lr = 1/L = {lr:.3g}")
    print(f"{'method':<28}{'updates':>8}{'loss':>14}{'max |w - lstsq|':>17}  stopped because")
    runs = {
        "gradient descent": dict(method="gd", lr=lr),
        "heavy-ball momentum": dict(method="momentum", lr=lr),
        "Nesterov": dict(method="nesterov", lr=lr),
    }
    for label, options in runs.items():
        result = minimize(fn, init, data, tol=1e-14, max_iter=20000, **options)
        report(label, result.n_iter, result.loss, result.params, exact, result.reason)

    # Minibatch SGD on a mean loss: the noise of each batch needs a decaying step to settle, and it
    # settles only roughly; the lecture's step schedule halves the rate every 500 updates.
    mean_fn = gradc.compile("0.5 * mean((X @ w + b - y)**2)", shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)})
    result = minimize(mean_fn, init, data, lr=StepDecay(0.3, 0.5, 500), batch_size=20, epochs=200, seed=0)
    report("SGD, batch 20, step lr", result.n_iter, fn.forward(**result.params, **data), result.params,
           exact, result.reason)

    params, info = scipy_minimize(fn, init, data, method="L-BFGS-B", options={"gtol": 1e-10})
    report("scipy L-BFGS-B (adapter)", info.nit, info.fun, params, exact, info.message)


def report(label, steps, loss, params, exact, reason):
    error = np.max(np.abs(np.append(params["w"], params["b"]) - exact))
    mark = "ok" if error < 1e-6 else "  "  # within 1e-6 of lstsq
    print(f"{label:<28}{steps:>8}{float(loss):>14.6f}{error:>14.2e} {mark}  {reason}")


if __name__ == "__main__":
    main()
