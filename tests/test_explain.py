"""`gradc explain`: the simplified derivative as a formula, with shared sub-expressions named once."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradc
from gradc.explain import explain

ROOT = Path(__file__).resolve().parent.parent
LEAST_SQUARES = ("0.5*sum((X@w - y)**2)", ["w"], {"X": ("n", "d"), "y": ("n",), "w": ("d",)})


def test_least_squares():
    fn = gradc.compile(*LEAST_SQUARES)
    assert explain(fn) == "d/dw = X.T @ (X @ w - y)"
    assert explain(fn, latex=True) == r"\frac{\partial f}{\partial w} = X^\top \left(X w - y\right)"


def test_the_lecture_circuit():
    assert explain(gradc.compile("(x + y) * z")) == "d/dx = z\nd/dy = z\nd/dz = x + y"


def test_a_forward_value_the_derivative_reuses_is_named_once():
    fn = gradc.compile("sum(sigmoid(x))", shapes={"x": ("n",)})
    assert explain(fn) == "d/dx = r * (1 - r)\nwhere r = sigmoid(x)"
    assert explain(fn, latex=True) == ("\\frac{\\partial f}{\\partial x} = r \\odot \\left(1 - r\\right)\n"
                                       "\\text{where } r = \\sigma\\left(x\\right)")


def test_names_from_the_source_are_kept():
    fn = gradc.compile("r = X@w - y\n0.5*sum(r**2)", *LEAST_SQUARES[1:])
    assert explain(fn) == "d/dw = X.T @ r\nwhere r = X @ w - y"


def test_shared_derivatives_are_named_not_repeated():
    text = explain(gradc.compile("x / (x + y)"))
    assert text == "d/dx = 1 / r + s\nd/dy = s\nwhere r = x + y\n      s = -(x / r / r)"


def test_pool_names_avoid_inputs():
    text = explain(gradc.compile("sum(sigmoid(r) * s)", shapes={"r": ("n",), "s": ("n",)}))
    assert "where u = sigmoid(r)" in text


@pytest.mark.parametrize("source, wrt, shapes", [
    ("(x + y) * z", None, {}),
    ("x / (x + y)", None, {}),
    ("sum(sigmoid(x))", None, {"x": (3,)}),
    ("0.5*sum((X@w - y)**2)", ["w"], {"X": (4, 3), "y": (4,), "w": (3,)}),
    ("x ** 3 - 2 ** x + exp(-x * y) / (1 - y)", None, {}),
    ("-(x - y) ** 2 * tanh(x) - sqrt(y) ** 0.5", None, {}),
    ("sum(tanh(W @ v) * v)", ["v"], {"W": (3, 3), "v": (3,)}),
])
def test_the_printed_formula_recompiles_to_the_gradient(source, wrt, shapes, rng):
    """Parentheses are right: each `d/dx = ...` (with its where lines) is source that computes the gradient."""
    fn = gradc.compile(source, wrt=wrt, shapes=shapes)
    graph = fn.stages.parsed
    point = {n: rng.uniform(0.5, 1.5, graph.shape(i)) if graph.shape(i) else float(rng.uniform(0.5, 1.5))
             for n, i in graph.inputs.items()}
    lines = explain(fn).splitlines()
    where = [line.split(" = ", 1) for line in lines if not line.startswith("d/d")]
    statements = "\n".join(f"{name.split()[-1]} = {expr}" for name, expr in where)
    grads = fn.grad(**point)
    for line in lines:
        if line.startswith("d/d"):
            name, expr = line[3:].split(" = ", 1)
            formula = gradc.compile(f"{statements}\n{expr}" if statements else expr, shapes=shapes)
            used = {n: point[n] for n in formula.inputs}
            np.testing.assert_allclose(formula.forward(**used), grads[name], rtol=1e-12, atol=1e-14)


def test_a_broadcast_under_a_matrix_product_stays_explicit():
    text = explain(gradc.compile("sum(v @ W.T)", wrt=["v"], shapes={"W": ("n", "n"), "v": ("n",)}))
    assert text == "d/dv = W.T @ broadcast_to(1, shape=('n',))"


def test_cli_explain():
    run = subprocess.run([sys.executable, "-m", "gradc", "explain", "(x + y) * z", "--wrt", "z", "--latex"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "\\frac{\\partial f}{\\partial z} = x + y\n"
