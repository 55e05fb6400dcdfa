"""Gradient descent's sensitivity to the starting point and to the learning rate.

f(x) = x**4 - 3*x**2 + x has a global minimum near x = -1.30 and a worse local one near x = 1.13. The same
constant step finds either, depending on where it starts; too small a step crawls, too large diverges.
Plots go to out/ when matplotlib is installed. Run: python examples/sensitivity.py
"""
import os
from pathlib import Path

import numpy as np

import gradc
from gradc.optim.descent import minimize

SOURCE = "x**4 - 3*x**2 + x"
STARTS = [-4.0, -2.0, -1.0, -0.5, 0.0, 0.2, 0.5, 1.0, 2.0, 4.0]
RATES = {"too small": 0.001, "good": 0.02, "too large": 0.3}
OUT = Path(__file__).resolve().parent.parent / "out"  # the checkout's out/, wherever this runs from


def descend(fn, x0, lr, max_iter=2000):
    """Runs GD from x0 and returns the result and the path of x (the callback sees every iterate)."""
    path = []
    result = minimize(fn, {"x": x0}, lr=lr, tol=1e-12, max_iter=max_iter,
                      callback=lambda step: path.append(step.params["x"]))
    return result, np.array(path + [result.params["x"]])


def main():
    fn = gradc.compile(SOURCE)
    print(f"f(x) = {SOURCE}\n\nstarting point, lr = 0.01:")
    print(f"{'x0':>6}{'x*':>10}{'f(x*)':>10}{'updates':>9}  minimum")
    starts = {}
    for x0 in STARTS:
        result, path = descend(fn, x0, 0.01)
        x = result.params["x"]
        kind = "global" if x < 0 else "local"
        print(f"{x0:>6.1f}{x:>10.4f}{result.loss:>10.4f}{result.n_iter:>9}  {kind}")
        starts[x0] = path

    print("\nlearning rate, from x0 = 2:")
    rates = {}
    for label, lr in RATES.items():
        result, path = descend(fn, 2.0, lr, max_iter=500)
        print(f"  lr={lr:<6} ({label:>9}): {result.n_iter:>4} updates, x = {path[-1]:.4g}; {result.reason}")
        rates[label] = result
    plot(fn, starts, rates)


def plot(fn, starts, rates):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("\n(matplotlib is not installed: no plots)")
        return
    os.makedirs(OUT, exist_ok=True)
    figure = Figure(figsize=(11, 4), layout="constrained")
    left, right = figure.subplots(1, 2)
    xs = np.linspace(-2.2, 2.2, 400)
    left.plot(xs, [fn.forward(x=x) for x in xs], "k", lw=1)
    for x0, path in starts.items():
        if abs(x0) <= 2.2:
            left.plot(path, [fn.forward(x=x) for x in path], ".-", ms=3, lw=0.8, label=f"x0 = {x0:g}")
    left.set(xlabel="x", ylabel="f(x)", title="where GD ends depends on where it starts", ylim=(-4.5, 6))
    left.legend(fontsize=7)
    floor = rates["good"].loss  # the local minimum f(1.1309) that x0 = 2 leads to
    for label, result in rates.items():
        gap = np.maximum(np.array(result.loss_history) - floor, 1e-16)  # >0 for the log axis
        right.plot(gap, label=f"lr={RATES[label]} ({label}): {result.status}")
        if result.diverged:
            right.annotate(f"diverged at step {result.divergence['step']}", (result.n_iter, 1e3),
                           xytext=(40, 1e1), arrowprops={"arrowstyle": "->"})
    # The diverging curve reaches 1e200; clipping keeps the other two readable.
    right.set(yscale="log", ylim=(1e-13, 1e4), xlabel="step", ylabel="f(x) - f(1.1309)",
              title="learning rate, from x0 = 2")
    right.legend(fontsize=8)
    path = os.path.join(OUT, "sensitivity.png")
    figure.savefig(path, dpi=120)
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
