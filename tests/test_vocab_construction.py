"""Joins and constructions with NumPy's meaning: the examples of NumPy's documentation, compiled from source,
and losses built with them, against closed forms and central differences."""
import numpy as np
import pytest

import gradc
from gradc.errors import ParseError, ShapeError
from helpers import assert_grad_matches


def value(source, shapes, **arrays):
    """The forward value of `source` compiled with `shapes`, at `arrays`."""
    fn = gradc.compile(source, shapes=shapes, strict=False)
    return fn.forward(**{name: array for name, array in arrays.items() if name in fn.inputs})


# NumPy's documentation examples (numpy.concatenate, stack, hstack, vstack, column_stack)
A22, B12 = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0]])
V1, V2 = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
C1, C2 = np.array([[1.0], [2.0], [3.0]]), np.array([[4.0], [5.0], [6.0]])
DOCS = [
    ("concatenate((a, b), axis=0)", {"a": A22, "b": B12}, [[1, 2], [3, 4], [5, 6]]),
    ("concatenate((a, b.T), axis=1)", {"a": A22, "b": B12}, [[1, 2, 5], [3, 4, 6]]),
    ("np.concatenate((a, b), axis=None)", {"a": V1, "b": V2}, [1, 2, 3, 4, 5, 6]),
    ("np.stack((a, b))", {"a": V1, "b": V2}, [[1, 2, 3], [4, 5, 6]]),
    ("np.stack((a, b), axis=-1)", {"a": V1, "b": V2}, [[1, 4], [2, 5], [3, 6]]),
    ("np.hstack((a, b))", {"a": V1, "b": V2}, [1, 2, 3, 4, 5, 6]),
    ("np.hstack((a, b))", {"a": C1, "b": C2}, [[1, 4], [2, 5], [3, 6]]),
    ("np.vstack((a, b))", {"a": V1, "b": V2}, [[1, 2, 3], [4, 5, 6]]),
    ("np.vstack((a, b))", {"a": C1, "b": C2}, [[1], [2], [3], [4], [5], [6]]),
    ("np.column_stack((a, b))", {"a": V1, "b": np.array([2.0, 3.0, 4.0])}, [[1, 2], [2, 3], [3, 4]]),
    ("stack([a, b], 1)", {"a": V1, "b": V2}, [[1, 4], [2, 5], [3, 6]]),
]


@pytest.mark.parametrize("source, arrays, expected", DOCS, ids=[d[0] for d in DOCS])
def test_joins_follow_numpys_documentation(source, arrays, expected):
    shapes = {name: array.shape for name, array in arrays.items()}
    result = value(source, shapes, **arrays)
    np.testing.assert_array_equal(result, np.array(expected, dtype=float))


def test_stack_puts_the_new_axis_where_numpy_does():
    # numpy.stack's example: ten (3, 4) arrays stacked along axis 0, 1 and 2
    arrays = {f"a{i}": np.random.default_rng(i).normal(size=(3, 4)) for i in range(10)}
    names = ", ".join(arrays)
    for axis, shape in ((0, (10, 3, 4)), (1, (3, 10, 4)), (2, (3, 4, 10))):
        result = value(f"stack(({names}), axis={axis})", {n: ("n", "d") for n in arrays}, **arrays)
        assert result.shape == shape
        np.testing.assert_array_equal(result, np.stack(list(arrays.values()), axis=axis))


def test_joins_of_scalars_and_mixed_ranks_match_numpy():
    a, b, c = 1.5, 2.5, np.array([3.0, 4.0])
    for source, expected in (("hstack((a, c, b))", np.hstack((a, c, b))), ("vstack((a, b))", np.vstack((a, b))),
                             ("column_stack((a, b))", np.column_stack((a, b))), ("stack((a, b))", np.stack((a, b)))):
        result = value(source, {"c": (2,)}, a=a, b=b, c=c)
        np.testing.assert_array_equal(result, expected)
        assert result.shape == expected.shape


def test_a_feature_map_loss_matches_its_closed_form(rng):
    # least squares on features [1?, x, X, x**2]: column_stack of a vector, a matrix and a square
    source = "F = column_stack((x, X, x ** 2)); r = F @ w - y; sum(r ** 2)"
    shapes = {"x": ("n",), "X": ("n", 2), "w": (4,), "y": ("n",)}
    fn = gradc.compile(source, shapes=shapes)
    n = 7
    arrays = {"x": rng.standard_normal(n), "X": rng.standard_normal((n, 2)), "w": rng.standard_normal(4),
              "y": rng.standard_normal(n)}
    x, X, w, y = arrays["x"], arrays["X"], arrays["w"], arrays["y"]
    F = np.column_stack((x, X, x ** 2))
    r = F @ w - y
    loss, grads = fn.value_and_grad(**arrays)
    assert loss == pytest.approx(r @ r, rel=1e-12)
    np.testing.assert_allclose(grads["w"], 2 * F.T @ r, rtol=1e-10)
    np.testing.assert_allclose(grads["X"], 2 * np.outer(r, w[1:3]), rtol=1e-10)
    np.testing.assert_allclose(grads["x"], 2 * r * (w[0] + 2 * w[3] * x), rtol=1e-10)
    np.testing.assert_allclose(grads["y"], -2 * r, rtol=1e-10)
    assert_grad_matches(fn.forward, grads, arrays, list(arrays), rng)


def test_concatenate_gradient_cuts_the_adjoint_into_slices(rng):
    fn = gradc.compile("sum(W * concatenate((A, B), axis=1))", shapes={"A": ("n", 2), "B": ("n", 3), "W": ("n", 5)})
    assert "np.concatenate((A, B), axis=1)" in fn.source
    W = rng.standard_normal((4, 5))
    grads = fn.grad(A=np.zeros((4, 2)), B=np.zeros((4, 3)), W=W)
    np.testing.assert_array_equal(grads["A"], W[:, :2])
    np.testing.assert_array_equal(grads["B"], W[:, 2:])


def test_the_hessian_through_a_join_with_a_fixed_operand(rng):
    # f = sum(stack((x, c)) ** 3) has d2f/dx2 = diag(6 x), whatever the constant row c
    fn = gradc.compile("sum(stack((x, c * 2.0)) ** 3)", wrt=["x"], shapes={"x": ("n",), "c": ("n",)})
    x, c = rng.standard_normal(3), rng.standard_normal(3)
    np.testing.assert_allclose(fn.hessian(x=x, c=c)["x"]["x"], np.diag(6 * x), rtol=1e-10, atol=1e-12)


JOIN_ERRORS = [
    ("concatenate((a, b))", {"a": ("n",), "b": ("m",)}, ShapeError, r"n \+ m .* declare the joined dimensions"),
    ("concatenate((a, b), axis=1)", {"a": ("n", 2), "b": ("m", 3)}, ShapeError, "differ in axis 0"),
    ("concatenate((a, b))", {}, ShapeError, "zero-dimensional .* stack"),
    ("concatenate((A, B), axis=None)", {"A": (2, 2), "B": (2, 2)}, ShapeError, r"axis=None\) flattens"),
    ("stack((a, b))", {"a": (2,), "b": (3,)}, ShapeError, "same shape"),
    ("stack((a, b), axis=2)", {"a": (2,), "b": (2,)}, ShapeError, "axis 2 is out of range"),
    ("vstack((A, x))", {"A": (2, 2, 2), "x": (2,)}, ShapeError, "same number of dimensions"),
    ("concatenate(a, b)", {"a": (2,), "b": (2,)}, ParseError, r"sequence of arrays first, as in concatenate\(\(a, b\)\)"),
    ("hstack(())", {}, ParseError, "sequence of arrays"),
]


@pytest.mark.parametrize("source, shapes, error, message", JOIN_ERRORS, ids=[e[0] for e in JOIN_ERRORS])
def test_bad_joins_are_clear_errors(source, shapes, error, message):
    with pytest.raises(error, match=message):
        gradc.compile(f"sum({source})", shapes=shapes)
