"""The module-level helpers (templates/helpers.py.j2): both branches of each agree with plain NumPy."""
import jinja2
import numpy as np
import pytest

import gradc
from gradc.backend.emit_text import _environment
from gradc.backend.numpy.emit import HELPERS
from gradc.backend.numpy.lowerings import LOWERINGS


def test_every_helper_macro_is_listed_and_every_listed_helper_has_one():
    """A helper is a macro of templates/helpers.py.j2 named as the code calls it, less the underscore."""
    module = _environment().get_template("helpers.py.j2").make_module({"sigmoid_tail": "-709.0"})
    macros = {name for name, value in vars(module).items() if isinstance(value, jinja2.runtime.Macro)}
    assert macros == {name.lstrip("_") for name in HELPERS}
    for name in HELPERS:
        assert getattr(module, name.lstrip("_"))().startswith(f"def {name}(")


def test_the_helpers_a_lowering_names_exist():
    assert {name for lowering in LOWERINGS.values() for name in lowering.helpers} <= set(HELPERS)


@pytest.mark.parametrize("columns", [1, 3, 16, 17, 40])  # column by column up to 16, then x.max
def test_row_max_through_logsumexp(columns, rng):
    fn = gradc.compile("sum(logsumexp(Z, axis=1))", shapes={"Z": ("n", "c")})
    assert "_row_max(" in fn.source
    Z = 50 * rng.standard_normal((7, columns))
    peak = Z.max(axis=1, keepdims=True)
    expected = np.sum(np.log(np.sum(np.exp(Z - peak), axis=1)) + peak[:, 0])
    value, grads = fn.value_and_grad(Z=Z)
    assert value == pytest.approx(expected, rel=1e-13)
    softmax = np.exp(Z - peak) / np.sum(np.exp(Z - peak), axis=1, keepdims=True)
    np.testing.assert_allclose(grads["Z"], softmax, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("columns", [3, 600])
def test_transposed_product(columns, rng):
    fn = gradc.compile("sum(A.T @ (B * B))", shapes={"A": ("n", "d"), "B": ("n", "k")})
    assert "A.T @ " in fn.source
    A, B = rng.standard_normal((5, columns)), rng.standard_normal((5, 2))
    value, grads = fn.value_and_grad(A=A, B=B)
    assert value == pytest.approx(np.sum(A.T @ (B * B)), rel=1e-12)
    np.testing.assert_allclose(grads["A"], np.broadcast_to((B * B).sum(axis=1, keepdims=True), A.shape), rtol=1e-12)
    np.testing.assert_allclose(grads["B"], 2 * B * A.sum(axis=1, keepdims=True), rtol=1e-12)


def test_a_module_carries_only_the_helpers_it_calls():
    source = gradc.compile("0.5*sum((X@w - y)**2)", shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)}).source
    assert "def _row_max" not in source and "def _sigmoid" not in source


@pytest.mark.parametrize("sizes", [(3, 4), (64, 128), (100, 200)])  # broadcasting below 8192 entries, einsum above
def test_outer_product_through_a_matrix_vector_gradient(sizes, rng):
    fn = gradc.compile("sum(tanh(W @ x) * y)", shapes={"W": ("m", "n"), "x": ("n",), "y": ("m",)})
    assert "_outer(" in fn.source
    m, n = sizes
    W, x, y = rng.standard_normal((m, n)) / np.sqrt(n), rng.standard_normal(n), rng.standard_normal(m)
    grads = fn.grad(W=W, x=x, y=y)
    np.testing.assert_allclose(grads["W"], np.outer(y * (1 - np.tanh(W @ x) ** 2), x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("source, helper", [("sum(sigmoid(z) * y)", "_sigmoid"), ("sum(softplus(z) * y)", "_softplus")])
def test_a_composite_on_an_array_is_one_helper_call(source, helper, rng):
    """The helper keeps the lowering's numerics: sigmoid exact to the smallest subnormal, no overflow warning."""
    fn = gradc.compile(source, shapes={"z": ("n",), "y": ("n",)})
    forward = fn.source.split("def forward")[1].split("\n\n\n")[0]
    assert forward.count(f"{helper}(z)") == 1 and "np.negative" not in forward
    z = np.array([-1000.0, -745.0, -720.0, -709.5, -30.0, 0.0, 3.0, 40.0, 800.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = fn.forward(z=z, y=np.eye(len(z))[2])
    if helper == "_sigmoid":
        assert value == 2.0305215e-313 or value == pytest.approx(np.exp(-720.0), rel=1e-15)
    else:
        assert value == pytest.approx(np.log1p(np.exp(-720.0)), rel=1e-15)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        _, grads = fn.value_and_grad(z=z, y=rng.standard_normal(len(z)))
    assert np.all(np.isfinite(grads["z"]))
