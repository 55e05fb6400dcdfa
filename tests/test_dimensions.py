"""Symbolic dimension arithmetic (gradc/dimensions.py) and the slices of named dimensions it lets gradc name."""
import array_api_strict as xp
import numpy as np
import pytest

import gradc
from gradc import dimensions
from gradc.explain import explain
from helpers import assert_grad_matches


def test_one_size_written_two_ways_is_one_dimension():
    assert dimensions.multiply("n", "d") == dimensions.multiply("d", "n") == "d*n"
    assert dimensions.add("n", "m") == dimensions.add("m", "n") == "m + n"
    assert dimensions.multiply(dimensions.add("n", "m"), "d") == "d*m + d*n"
    assert dimensions.subtract(dimensions.add("n", 1), "n") == 1
    assert dimensions.subtract("n", 2) == "n - 2" and dimensions.multiply(3, "n") == "3*n"
    assert dimensions.add("n", 0) == "n" and dimensions.multiply("n", 1) == "n" and dimensions.multiply("n", 0) == 0


@pytest.mark.parametrize("dim", ["d*n", "m + n", "n - 2", "3*n", "d*k*n - 2*k + 1", "-n + 3"])
def test_the_canonical_text_reads_back_and_evaluates_as_python_would(dim):
    assert dimensions.of_terms(dimensions.terms(dim)) == dim
    sizes = {"n": 5, "d": 3, "k": 7, "m": 2}
    assert dimensions.evaluate(dim, sizes) == eval(dim, {}, sizes)  # noqa: S307 - gradc's own text, in a test
    assert dimensions.names(dim) == sorted(set(dim) & set(sizes))


def test_a_composite_dimension_is_parenthesized_as_an_operand():
    assert dimensions.text("n - 1", operand=True) == "(n - 1)" and dimensions.text("d*n", operand=True) == "(d*n)"
    assert dimensions.text("n", operand=True) == "n" and dimensions.text("d*n - 1", str.upper) == "D*N - 1"


SLICES = ["sum((x[1:] - x[:-1])**2)", "sum(x[2:-1] * x[1:-2])", "mean(x[1:]) * sum(x[-3:])",
          "sum(X[1:, 0] * X[:-1, 1])", "mean(X[:-2])", "sum(x[:3] ** 2)"]


@pytest.mark.parametrize("source", SLICES)
@pytest.mark.parametrize("n", [4, 7])
def test_slices_of_a_named_dimension_have_named_lengths_and_right_gradients(source, n, rng):
    fn = gradc.compile(source, shapes={"x": ("n",), "X": ("n", "d")}, strict=False)
    point = {name: rng.normal(size=(n,) if name == "x" else (n, 3)) for name in fn.inputs}
    reference = eval(source.replace("mean", "np.mean").replace("sum", "np.sum"), {"np": np}, point)  # noqa: S307
    value, grads = fn.value_and_grad(**point)
    np.testing.assert_allclose(value, reference, rtol=1e-12)
    assert_grad_matches(lambda **a: fn(**a), grads, point, fn.inputs, rng)


def test_an_input_too_short_for_its_slices_is_refused_on_entry():
    fn = gradc.compile("sum(x[2:] * x[:-2]) + sum(x[-3:])", shapes={"x": ("n",)})
    with pytest.raises(gradc.GradcError, match=r"x\[-3:\] needs n >= 3"):
        fn.value_and_grad(x=np.ones(2))


def test_the_count_of_a_slice_is_parenthesized_in_code_and_formulas():
    fn = gradc.compile("mean(X[1:])", shapes={"X": ("n", "d")})
    assert "/ ((n - 1) * d)" in fn.source
    assert "1 / ((n - 1) * d)" in explain(fn)
    X = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(fn.grad(X=X)["X"][1:], np.full((3, 3), 1 / 9))


def test_the_array_api_module_scatters_into_slices(rng):
    source = "sum(x[1:] * x[:-1]) + X[1:, 0] @ X[:-1, 1]"
    shapes = {"x": ("n",), "X": ("n", "d")}
    numpy_fn, strict_fn = gradc.compile(source, shapes=shapes), gradc.compile(source, shapes=shapes, backend="array-api")
    x, X = rng.normal(size=5), rng.normal(size=(5, 3))
    value, grads = numpy_fn.value_and_grad(x=x, X=X)
    strict_value, strict_grads = strict_fn.value_and_grad(x=xp.asarray(x), X=xp.asarray(X))
    np.testing.assert_allclose(float(strict_value), value, rtol=1e-12)
    for name in grads:
        np.testing.assert_allclose(np.asarray(strict_grads[name]), grads[name], rtol=1e-12)


JOINS = [
    ("sum(concatenate((x, y, x))**3)", lambda x, y, X, v: np.sum(np.concatenate((x, y, x))**3)),
    ("sum(vstack([X, v]) * vstack([X, v]))", lambda x, y, X, v: np.sum(np.vstack([X, v])**2)),
    ("sum(column_stack([X, x]) ** 2)", lambda x, y, X, v: np.sum(np.column_stack([X, x])**2)),
    ("sum(hstack([x, y]) * hstack([y, x]))", lambda x, y, X, v: np.sum(np.hstack([x, y]) * np.hstack([y, x]))),
    ("sum(stack([x, x]) ** 2)", lambda x, y, X, v: np.sum(np.stack([x, x])**2)),
]


@pytest.mark.parametrize("source, reference", JOINS)
@pytest.mark.parametrize("n, m", [(3, 2), (5, 4)])
def test_joins_of_named_lengths_add_them_and_cut_the_gradient_back(source, reference, n, m, rng):
    shapes = {"x": ("n",), "y": ("m",), "X": ("n", "d"), "v": ("d",)}
    fn = gradc.compile(source, shapes=shapes, strict=False)
    sizes = {"n": n, "m": m, "d": 3}
    arrays = {name: rng.normal(size=tuple(sizes[d] for d in shape)) for name, shape in shapes.items()}
    point = {name: arrays[name] for name in fn.inputs}
    value, grads = fn.value_and_grad(**point)
    np.testing.assert_allclose(value, reference(**arrays), rtol=1e-12)
    assert_grad_matches(lambda **a: fn(**a), grads, point, fn.inputs, rng)


def test_a_joined_length_is_named_in_the_shape_and_the_code():
    fn = gradc.compile("sum(concatenate((x, y)) * concatenate((y, x)))", shapes={"x": ("n",), "y": ("m",)})
    assert "g_x = " in fn.source and "[:n]" in fn.source and "[n:]" in fn.source
    with pytest.raises(gradc.ShapeError, match=r"\(m \+ n,\) and \(k,\)"):
        gradc.compile("sum(concatenate((x, y)) * z)", shapes={"x": ("n",), "y": ("m",), "z": ("k",)})
