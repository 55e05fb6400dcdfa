"""The main job, run by `make demo`: compile least squares, read the module, check it, then the other examples."""
import pathlib
import runpy
import subprocess
import sys

import numpy as np

import gradc

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = "0.5*sum((X@w - y)**2)"
SHAPES = {"X": ("n", "d"), "w": ("d",), "y": ("n",)}


def least_squares():
    fn = gradc.compile(SOURCE, wrt="w", shapes=SHAPES)
    print(f"$ gradc compile '{SOURCE}' --wrt w --shape X=n,d --shape y=n --shape w=d")
    print(fn.source)
    rng = np.random.default_rng(0)
    X, w, y = rng.standard_normal((100, 10)), rng.standard_normal(10), rng.standard_normal(100)
    value, grads = fn.value_and_grad(X=X, w=w, y=y)
    expected = X.T @ (X @ w - y)
    print(f"value {value:.6f}; gradient equals X.T @ (X@w - y): {np.allclose(grads['w'], expected)}")
    print()


def check():
    command = [sys.executable, "-m", "gradc", "check", "x / (x + y)", "--at", "x=-1", "--at", "y=2"]
    print("$ gradc check 'x / (x + y)' --at x=-1 --at y=2")
    subprocess.run(command, check=True)
    print()


def other_examples():
    for name in ("render_lectures.py", "least_squares.py", "digits.py", "sensitivity.py", "network_function.py"):
        path = HERE / name
        if path.exists():
            print(f"=== examples/{name}")
            runpy.run_path(str(path), run_name="__main__")
            print()


if __name__ == "__main__":
    least_squares()
    check()
    other_examples()
