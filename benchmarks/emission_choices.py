"""The measurements behind gradc's emission choices, on this machine's NumPy and BLAS.

    python benchmarks/emission_choices.py              # all (about a minute on 2 cores)
    python benchmarks/emission_choices.py --only rows  # one of: sums, rows, gemm, outer, fused, scatters

- sums:  `np.sum(x)`, `x.sum()` and `np.einsum` for full and partial sums (ops/reduce.py emits the latter two);
- rows:  `x.max(axis=1)` against the column-by-column loop of `_row_max` (templates/helpers.py.j2), by width;
- gemm:  `a.T @ b` against `(b.T @ a).T` by shape (the measurement that removed `_t_matmul`: the modules write a.T @ b);
- outer: `np.outer`, broadcasting and einsum by size, behind `_outer`'s 8192-entry threshold;
- fused: numexpr (when installed) against the in-place NumPy statements gradc writes, for the elementwise
  work of the logistic and softmax rows: the measurement behind not having a fused backend.
- scatters: the adjoints of gathers (ops/gathers.py): Z[arange(n), labels]'s by assignment, np.add.at and
  np.bincount; x[labels]'s (a vector) by np.add.at and np.bincount(labels % d, g).
Each figure is the best of 5 timeit repeats, in microseconds.
"""
import argparse
import timeit

import numpy as np

from workloads import _softplus as softplus

RNG = np.random.default_rng(0)


def best_us(call):
    timer = timeit.Timer(call)
    number = max(1, timer.autorange()[0] // 3)
    return min(timer.repeat(5, number)) / number * 1e6


def sums():
    for n, c in ((100, 32), (4096, 32), (1797, 10), (100_000, 10), (1000, 1000)):
        x = RNG.random((n, c))
        print(f"sum {n}x{c}: all np.sum {best_us(lambda: np.sum(x)):.1f}  x.sum() {best_us(lambda: x.sum()):.1f}"
              f" | axis 0 x.sum {best_us(lambda: x.sum(axis=0)):.1f}  einsum {best_us(lambda: np.einsum('ij->j', x)):.1f}"
              f" | axis 1 x.sum {best_us(lambda: x.sum(axis=1)):.1f}  einsum {best_us(lambda: np.einsum('ij->i', x)):.1f}")


def _row_max_loop(x):
    peak = x[:, 0].copy()
    for j in range(1, x.shape[1]):
        np.maximum(peak, x[:, j], out=peak)
    return peak[:, None]


def rows():
    for n in (1797, 100_000):
        for c in (2, 10, 16, 32, 64):
            x = RNG.random((n, c))
            reduce, loop = best_us(lambda: x.max(axis=1, keepdims=True)), best_us(lambda: _row_max_loop(x))
            print(f"row max {n}x{c}: x.max {reduce:.0f}  by columns {loop:.0f}  ratio {loop / reduce:.2f}")


def gemm():
    for n in (256, 4096, 32768):
        for d in (64, 256, 784):
            for k in (10, 32, 128):
                a, b = RNG.standard_normal((n, d)), RNG.standard_normal((n, k))
                plain, flipped = best_us(lambda: a.T @ b), best_us(lambda: (b.T @ a).T)
                print(f"a.T @ b, a {n}x{d}, b {n}x{k}: {plain:.0f}  (b.T @ a).T {flipped:.0f}  "
                      f"ratio {flipped / plain:.2f}")


def outer():
    for m, n in ((10, 32), (10, 128), (64, 128), (128, 256), (128, 784), (1000, 1000)):
        a, b = RNG.random(m), RNG.random(n)
        print(f"outer {m}x{n}: np.outer {best_us(lambda: np.outer(a, b)):.1f}  broadcast "
              f"{best_us(lambda: a[:, None] * b):.1f}  einsum {best_us(lambda: np.einsum('i,j->ij', a, b)):.1f}")


def fused():
    try:
        import numexpr
    except ImportError:
        print("fused: numexpr is not installed (pip install numexpr)")
        return
    z, y = RNG.standard_normal(200_000), (RNG.random(200_000) < 0.5) * 1.0
    sp = softplus(z)  # the statements gradc writes for softplus, as the hand-written logistic uses them

    def sigmoid_minus_y():
        t = z - sp
        np.exp(t, out=t)
        t -= y
        return t
    Z = RNG.standard_normal((100_000, 10))
    peak, Y = Z.max(axis=1, keepdims=True), np.eye(10)[RNG.integers(0, 10, 100_000)]

    def softmax_minus_y():
        t = Z - peak
        np.exp(t, out=t)
        t /= np.einsum("ij->i", t)[:, None]
        t -= Y
        return t

    def softmax_numexpr():
        t = numexpr.evaluate("exp(Z - peak)", local_dict={"Z": Z, "peak": peak})
        s = np.einsum("ij->i", t)[:, None]
        return numexpr.evaluate("t / s - Y", local_dict={"t": t, "s": s, "Y": Y}, out=t)
    print(f"numexpr {numexpr.__version__}, {numexpr.detect_number_of_cores()} threads")
    print(f"softplus 2e5: numpy {best_us(lambda: softplus(z)):.0f}  numexpr "
          f"{best_us(lambda: numexpr.evaluate('where(z > 0, z, 0) + log1p(exp(-abs(z)))', {'z': z})):.0f}")
    print(f"exp(z - sp) - y 2e5: numpy {best_us(sigmoid_minus_y):.0f}  numexpr "
          f"{best_us(lambda: numexpr.evaluate('exp(z - sp) - y', {'z': z, 'sp': sp, 'y': y})):.0f}")
    print(f"softmax - Y 1e5x10: numpy {best_us(softmax_minus_y):.0f}  numexpr {best_us(softmax_numexpr):.0f}")


def scatters():
    for n, c in ((1797, 10), (100_000, 10), (10_000, 1000)):
        labels, g, rows = RNG.integers(0, c, n), RNG.standard_normal(n), np.arange(n)

        def assign():
            out = np.zeros((n, c))
            out[rows, labels] = g
            return out

        def add_at():
            out = np.zeros((n, c))
            np.add.at(out, (rows, labels), g)
            return out

        counted = best_us(lambda: np.bincount(rows * c + labels, g, minlength=n * c).reshape(n, c))
        print(f"Z[arange(n), labels] adjoint {n}x{c}: assign {best_us(assign):.0f}  np.add.at {best_us(add_at):.0f}"
              f"  bincount {counted:.0f}")
    for d, n in ((10, 1797), (1000, 100_000), (100_000, 100_000)):
        labels, g = RNG.integers(0, d, n), RNG.standard_normal(n)

        def add_at():
            out = np.zeros(d)
            np.add.at(out, labels, g)
            return out

        counted = best_us(lambda: np.bincount(labels % d, g, minlength=d))
        print(f"x[labels] adjoint d={d} n={n}: np.add.at {best_us(add_at):.0f}  bincount(labels % d) {counted:.0f}")


CHOICES = {"sums": sums, "rows": rows, "gemm": gemm, "outer": outer, "fused": fused, "scatters": scatters}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=CHOICES)
    args = parser.parse_args()
    for name, run in CHOICES.items():
        if args.only in (None, name):
            run()
