"""The lecture notes' worked examples, with their published numbers: the NumPy module, and the array-api module on
array-api-strict, PyTorch and under jax.jit."""
import math

import numpy as np
import pytest

import gradc

NAMESPACES = ["numpy", "array_api_strict", "torch", "jax"]


class OnNamespace:
    """A compiled function whose module runs on one namespace's arrays: the array-api module on strict, torch
    or under jax.jit, given the namespace's arrays and read back as NumPy (0-d results as floats)."""

    def __init__(self, fn, library):
        self.fn, self.library = fn, library
        self.compat, self.xp = pytest.importorskip("array_api_compat"), pytest.importorskip(library)
        if library == "jax":
            self.xp.config.update("jax_enable_x64", True)
        function = fn.module.value_and_grad
        self.function = self.xp.jit(function) if library == "jax" else function

    def __getattr__(self, name):
        return getattr(self.fn, name)

    def convert(self, value):
        """The namespace's array, 0-d for a scalar, so that scalar-only modules take its namespace too."""
        array = np.asarray(value, dtype=np.float64)
        if self.library == "torch":
            return self.xp.from_numpy(array)
        return self.xp.numpy.asarray(array) if self.library == "jax" else self.xp.asarray(array)

    def back(self, value):
        if self.library == "array_api_strict" and hasattr(value, "__array_namespace__"):
            value = self.xp.asarray(value, copy=True)._array
        array = np.asarray(value)
        return float(array) if array.ndim == 0 else array

    def value_and_grad(self, **inputs):
        arrays = {name: self.convert(v) for name, v in inputs.items()}
        value, grads = self.function(**arrays)
        namespace = self.compat.array_namespace(*arrays.values())
        assert all(self.compat.array_namespace(r) is namespace for r in [value, *grads.values()])
        return self.back(value), {name: self.back(g) for name, g in grads.items()}

    def grad(self, **inputs):
        return self.value_and_grad(**inputs)[1]


@pytest.fixture(params=NAMESPACES)
def compile_on(request):
    """gradc.compile for the NumPy backend, or the array-api module run on the other namespaces."""
    if request.param == "numpy":
        return gradc.compile
    return lambda source, **options: OnNamespace(gradc.compile(source, backend="array-api", **options),
                                                 request.param)


def test_add_mul_circuit(compile_on):
    fn = compile_on("(x + y) * z")
    value, grads = fn.value_and_grad(x=-2.0, y=5.0, z=-4.0)
    assert value == -12.0
    assert grads == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert fn.inputs == ("x", "y", "z") and fn.wrt == ("x", "y", "z")


def test_quotient_where_x_branches(compile_on):
    fn = compile_on("x / (x + y)")
    grads = fn.grad(x=-1.0, y=2.0)
    assert grads == {"x": 2.0, "y": 1.0}
    # The illustration in STYLE.md: at (1, 2) the value is 1/3, the gradient (2/9, -1/9).
    value, grads = fn.value_and_grad(x=1.0, y=2.0)
    assert value == pytest.approx(1 / 3, abs=1e-15)
    assert grads["x"] == pytest.approx(2 / 9, abs=1e-15)
    assert grads["y"] == pytest.approx(-1 / 9, abs=1e-15)


def test_max_gate(compile_on):
    fn = compile_on("3*(x*y + max(z, w))")
    value, grads = fn.value_and_grad(x=3.0, y=-4.0, z=2.0, w=-1.0)
    assert value == -30.0
    assert grads == {"x": -12.0, "y": 9.0, "z": 3.0, "w": 0.0}


def sigmoid(t):
    return 1 / (1 + math.exp(-t))


NEURON_VALUE = sigmoid(1.0)  # w0 + w1*x1 + w2*x2 = -3 + 2*(-1) + (-3)*(-2) = 1
LOCAL = NEURON_VALUE * (1 - NEURON_VALUE)  # 0.1966...


def test_sigmoid_neuron_with_scalars(compile_on):
    fn = compile_on("1/(1+exp(-(w0 + w1*x1 + w2*x2)))")
    value, g = fn.value_and_grad(w0=-3.0, w1=2.0, w2=-3.0, x1=-1.0, x2=-2.0)
    assert value == pytest.approx(0.7311, abs=5e-5)
    assert value == pytest.approx(NEURON_VALUE, rel=1e-15)
    assert [g["w0"], g["w1"], g["w2"]] == pytest.approx([0.1966, -0.1966, -0.3932], abs=5e-5)
    assert [g["x1"], g["x2"]] == pytest.approx([0.3932, -0.5898], abs=5e-5)
    assert [g["w0"], g["w1"], g["w2"], g["x1"], g["x2"]] == pytest.approx(
        [LOCAL, -LOCAL, -2 * LOCAL, 2 * LOCAL, -3 * LOCAL], rel=1e-14)


def test_sigmoid_neuron_with_vectors(compile_on):
    fn = compile_on("1/(1+exp(-(w[0] + w[1]*x[0] + w[2]*x[1])))", shapes={"w": (3,), "x": (2,)})
    value, g = fn.value_and_grad(w=np.array([-3.0, 2.0, -3.0]), x=np.array([-1.0, -2.0]))
    assert value == pytest.approx(NEURON_VALUE, rel=1e-15)
    np.testing.assert_allclose(g["w"], [0.1966, -0.1966, -0.3932], atol=5e-5)
    np.testing.assert_allclose(g["x"], [0.3932, -0.5898], atol=5e-5)
    np.testing.assert_allclose(g["w"], [LOCAL, -LOCAL, -2 * LOCAL], rtol=1e-14)
    assert g["w"].shape == (3,) and g["x"].shape == (2,)


def test_stationary_point_of_cubic(compile_on):
    fn = compile_on("x**3 - 3*x")
    value, grads = fn.value_and_grad(x=1.0)
    assert value == -2.0
    assert grads == {"x": 0.0}
    assert fn.grad(x=2.0)["x"] == 9.0  # 3x² - 3


def test_least_squares_gradient_is_residual_times_design(compile_on, rng):
    fn = compile_on("0.5*sum((X@w - y)**2)", wrt=["w"],
                       shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)})
    X, w, y = rng.standard_normal((7, 3)), rng.standard_normal(3), rng.standard_normal(7)
    value, grads = fn.value_and_grad(X=X, w=w, y=y)
    residual = X @ w - y
    assert value == pytest.approx(0.5 * residual @ residual, rel=1e-14)
    assert list(grads) == ["w"]
    np.testing.assert_allclose(grads["w"], X.T @ residual, rtol=1e-13)
    # One module serves every size that fits the declared names.
    X2, w2, y2 = rng.standard_normal((20, 5)), rng.standard_normal(5), rng.standard_normal(20)
    np.testing.assert_allclose(fn.grad(X=X2, w=w2, y=y2)["w"], X2.T @ (X2 @ w2 - y2), rtol=1e-13)


def test_indexing_a_matrix_vector_product(compile_on, rng):
    fn = compile_on("b = x@a; 2*b[0] + b[1]**2", shapes={"x": (2, 3), "a": (3,)})
    x, a = rng.standard_normal((2, 3)), rng.standard_normal(3)
    b = x @ a
    value, grads = fn.value_and_grad(x=x, a=a)
    assert value == pytest.approx(2 * b[0] + b[1] ** 2, rel=1e-14)
    g_b = np.array([2.0, 2 * b[1]])
    np.testing.assert_allclose(grads["x"], np.outer(g_b, a), rtol=1e-13)
    np.testing.assert_allclose(grads["a"], x.T @ g_b, rtol=1e-13)
    assert "b = " in fn.source  # the user's name is kept


@pytest.mark.parametrize("i", [0, 1, 2, 3])
def test_softmax_jacobian_row(compile_on, i, rng):
    fn = compile_on(f"softmax(z)[{i}]", shapes={"z": (4,)})
    z = rng.standard_normal(4)
    p = np.exp(z) / np.sum(np.exp(z))
    value, grads = fn.value_and_grad(z=z)
    assert value == pytest.approx(p[i], rel=1e-14)
    np.testing.assert_allclose(grads["z"], p[i] * (np.eye(4)[i] - p), rtol=1e-12, atol=1e-16)
