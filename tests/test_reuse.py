"""Buffer reuse (`out=`): lines write into dying temporaries only where no later line reads them."""
import numpy as np
import pytest

import gradc
from tests.helpers import assert_grad_matches

SQUARE = {"A": ("n", "n"), "B": ("n", "n")}


def _arrays(rng, n=4):
    return {"A": rng.standard_normal((n, n)), "B": rng.standard_normal((n, n))}


@pytest.mark.parametrize("source, reference", [
    # h read through a transpose in the line that overwrites it
    ("h = tanh(A @ B); sum(h * h.T)", lambda A, B: np.sum(np.tanh(A @ B) * np.tanh(A @ B).T)),
    ("h = tanh(A @ B); sum(h.T @ h) + sum(h * h)", lambda A, B: np.sum(np.tanh(A @ B).T @ np.tanh(A @ B))
     + np.sum(np.tanh(A @ B) ** 2)),
    # relu's derivative reads h inside the product `g * (h > 0.0)`: h must survive until that line
    ("h = A @ B + 0.1; sum(tanh(relu(h)) * B)", lambda A, B: np.sum(np.tanh(np.maximum(A @ B + 0.1, 0.0)) * B)),
    ("s = exp(A) * B; sum(s.T @ A) + sum(s * B)", lambda A, B: np.sum((np.exp(A) * B).T @ A)
     + np.sum(np.exp(A) * B * B)),
])
def test_in_place_lines_agree_with_finite_differences(source, reference):
    rng = np.random.default_rng(3)
    arrays = _arrays(rng)
    fn = gradc.compile(source, shapes=SQUARE)
    value, grads = fn.value_and_grad(**arrays)
    assert value == pytest.approx(reference(**arrays), rel=1e-12)
    assert_grad_matches(fn.forward, grads, arrays, ["A", "B"], rng)


def test_a_value_read_through_a_transpose_is_overwritten_only_after_that_read():
    """The two-layer network: `h.T @ g` reads h, and only the next line may write `1 - h*h` into it."""
    source = "h = tanh(X @ W1); p = sigmoid(h @ w2); mean((p - y)**2)"
    shapes = {"X": ("n", "d"), "W1": ("d", "k"), "w2": ("k",), "y": ("n",)}
    fn = gradc.compile(source, shapes=shapes, wrt=["W1", "w2"])
    lines = fn.source.split("def value_and_grad")[1].splitlines()
    read_through_view = next(i for i, line in enumerate(lines) if "h.T @" in line)
    overwritten = next(i for i, line in enumerate(lines) if "out=h)" in line)
    assert read_through_view < overwritten
    rng = np.random.default_rng(4)
    arrays = {"X": rng.standard_normal((6, 3)), "W1": rng.standard_normal((3, 2)), "w2": rng.standard_normal(2),
              "y": rng.random(6)}
    _, grads = fn.value_and_grad(**arrays)
    assert_grad_matches(fn.forward, grads, arrays, ["W1", "w2"], rng)


def test_inputs_are_never_written():
    rng = np.random.default_rng(5)
    arrays = _arrays(rng)
    before = {k: v.copy() for k, v in arrays.items()}
    gradc.compile("sum(tanh(A) * B.T)", shapes=SQUARE).value_and_grad(**arrays)
    for name, array in arrays.items():
        np.testing.assert_array_equal(array, before[name])


def test_a_reduction_to_a_scalar_runs_early_so_its_operand_can_be_overwritten(rng):
    """Softmax cross-entropy: vdot(Y, Z) reads Z first, then Z - max(Z) is written into Z's buffer."""
    source = "mean(logsumexp(X@W, axis=1) - sum(Y*(X@W), axis=1))"
    fn = gradc.compile(source, shapes={"X": ("n", "d"), "W": ("d", "c"), "Y": ("n", "c")}, wrt=["W"])
    body = fn.source.split("def value_and_grad")[1].splitlines()
    assert "np.vdot(Y, t1)" in body[3] and "np.subtract(t1, t4, out=t1)" in body[6]
    arrays = {"X": rng.standard_normal((6, 3)), "W": rng.standard_normal((3, 4)),
              "Y": np.eye(4)[rng.integers(0, 4, 6)]}
    Z = arrays["X"] @ arrays["W"]
    expected = np.mean(np.log(np.exp(Z).sum(axis=1)) - (arrays["Y"] * Z).sum(axis=1))
    value, grads = fn.value_and_grad(**arrays)
    assert value == pytest.approx(expected, rel=1e-12)
    assert_grad_matches(fn.forward, grads, arrays, ["W"], rng)


def test_a_gradient_returned_as_a_view_keeps_its_array(rng):
    """The gradient with respect to T is `t3.T`: no line may write into t3 after it is computed."""
    source = "sum(T * (S / (2 + sin(S))).T)"
    fn = gradc.compile(source, shapes={"S": ("k", "k"), "T": ("k", "k")})
    arrays = {"S": rng.uniform(-1, 1, (3, 3)), "T": rng.uniform(-1, 1, (3, 3))}
    _, grads = fn.value_and_grad(**arrays)
    S = arrays["S"]
    np.testing.assert_allclose(grads["T"], (S / (2 + np.sin(S))).T, rtol=1e-13)
    assert_grad_matches(fn.forward, grads, arrays, ["S", "T"], rng)
