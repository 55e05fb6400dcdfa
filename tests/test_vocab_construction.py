"""Joins and constructions with NumPy's meaning: the examples of NumPy's documentation, compiled from source,
and losses built with them, against closed forms and central differences."""
import re

import numpy as np
import pytest

import gradc
from gradc.errors import ParseError, ShapeError, UnknownNameError
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


def test_joins_of_symbolic_lengths_add_them_and_cut_the_gradient_back(rng):
    # vstack of (n, d), (d,) and (m, d) has n + m + 1 rows; the adjoint is cut at n and n + 1
    source = "Z = vstack((A, x, B)); sum(Z @ w) + sum(concatenate((a, b)) ** 2)"
    shapes = {"A": ("n", "d"), "x": ("d",), "B": ("m", "d"), "w": ("d",), "a": ("n",), "b": ("m",)}
    fn = gradc.compile(source, shapes=shapes)
    assert "g_Z[:n]" in fn.source and "g_Z[n]" in fn.source and "g_Z[n + 1:]" in fn.source
    arrays = {"A": rng.standard_normal((3, 2)), "x": rng.standard_normal(2), "B": rng.standard_normal((2, 2)),
              "w": rng.standard_normal(2), "a": rng.standard_normal(3), "b": rng.standard_normal(2)}
    value, grads = fn.value_and_grad(**arrays)
    Z = np.vstack((arrays["A"], arrays["x"], arrays["B"]))
    assert value == pytest.approx(np.sum(Z @ arrays["w"]) + np.sum(np.concatenate((arrays["a"], arrays["b"])) ** 2))
    np.testing.assert_allclose(grads["x"], arrays["w"])
    np.testing.assert_allclose(grads["B"], np.tile(arrays["w"], (2, 1)))
    np.testing.assert_allclose(grads["b"], 2 * arrays["b"])
    assert_grad_matches(fn.forward, grads, arrays, list(arrays), rng)


def test_the_hessian_through_a_symbolic_join(rng):
    # f = sum(concatenate((x, y)) ** 3): the Hessian is diag(6 x) and diag(6 y), with no cross terms
    fn = gradc.compile("sum(concatenate((x, y)) ** 3)", shapes={"x": ("n",), "y": ("m",)})
    x, y = rng.standard_normal(3), rng.standard_normal(2)
    hessian = fn.hessian(x=x, y=y)
    np.testing.assert_allclose(hessian["x"]["x"], np.diag(6 * x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hessian["y"]["y"], np.diag(6 * y), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hessian["x"]["y"], np.zeros((3, 2)), atol=1e-12)


def test_the_hessian_through_a_join_with_a_fixed_operand(rng):
    # f = sum(stack((x, c)) ** 3) has d2f/dx2 = diag(6 x), whatever the constant row c
    fn = gradc.compile("sum(stack((x, c * 2.0)) ** 3)", wrt=["x"], shapes={"x": ("n",), "c": ("n",)})
    x, c = rng.standard_normal(3), rng.standard_normal(3)
    np.testing.assert_allclose(fn.hessian(x=x, c=c)["x"]["x"], np.diag(6 * x), rtol=1e-10, atol=1e-12)


JOIN_ERRORS = [
    ("concatenate((a, b)) * c", {"a": ("n",), "b": ("m",), "c": ("n",)}, ShapeError, r"\(m \+ n,\) and \(n,\)"),
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


# Constructions: NumPy's documentation examples (numpy.zeros, ones, full, eye, identity, the _like forms,
# tril, triu, diag, diagonal, array), each compiled from source; X is (n, d) = (3, 4) where it is given.
X34 = np.arange(1.0, 13.0).reshape(3, 4)
CONSTRUCTIONS = [
    ("np.zeros(5)", {}, np.zeros(5)), ("np.zeros((2, 1))", {}, np.zeros((2, 1))),
    ("zeros((n, 2))", {"X": X34}, np.zeros((3, 2))), ("np.ones((2, 1))", {}, np.ones((2, 1))),
    ("ones(X.shape[1])", {"X": X34}, np.ones(4)), ("np.full((2, 2), 10)", {}, np.full((2, 2), 10.0)),
    ("np.full((2, 2), np.inf)", {}, np.full((2, 2), np.inf)),
    ("np.eye(2)", {}, np.eye(2)), ("np.eye(3, k=1)", {}, np.eye(3, k=1)), ("eye(n, d, -1)", {"X": X34},
                                                                           np.eye(3, 4, -1)),
    ("np.eye(len(X))", {"X": X34}, np.eye(3)), ("np.identity(3)", {}, np.identity(3)),
    ("np.zeros_like(X)", {"X": X34}, np.zeros((3, 4))), ("np.ones_like(X)", {"X": X34}, np.ones((3, 4))),
    ("np.full_like(X, 0.1)", {"X": X34}, np.full((3, 4), 0.1)),
    ("np.tril(X, -1)", {"X": X34}, np.array([[0, 0, 0, 0], [5, 0, 0, 0], [9, 10, 0, 0]])),
    ("np.triu(X, -1)", {"X": X34}, np.array([[1, 2, 3, 4], [5, 6, 7, 8], [0, 10, 11, 12]])),
    ("np.diag(np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]]))", {}, np.array([0.0, 4.0, 8.0])),
    ("np.diag(np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), k=1)", {}, np.array([1.0, 5.0])),
    ("np.diag(np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), -1)", {}, np.array([3.0, 7.0])),
    ("np.diag(np.diag(np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]])))", {}, np.diag([0.0, 4.0, 8.0])),
    ("np.diag(v, 1)", {"v": np.array([1.0, 2.0])}, np.array([[0, 1, 0], [0, 0, 2], [0, 0, 0]])),
    ("np.array([[0, 1], [2, 3]]).diagonal()", {}, np.array([0.0, 3.0])),
    ("np.diagonal(X, 1)", {"X": X34}, np.array([2.0, 7.0, 12.0])),
    ("X.diagonal(offset=-1)", {"X": X34}, np.array([5.0, 10.0])),
    ("np.array([1, 2, 3])", {}, np.array([1.0, 2.0, 3.0])), ("np.array([[1, 2], [3, 4]])", {}, [[1, 2], [3, 4]]),
    ("np.asarray([a, -2.0, a * 3])", {"a": 1.5}, np.array([1.5, -2.0, 4.5])),
    ("np.array([[a, 0], [v[1], a]])", {"a": 2.0, "v": np.array([1.0, 5.0])}, [[2, 0], [5, 2]]),
    ("np.array([v, v * 2])", {"v": np.array([1.0, 5.0])}, [[1, 5], [2, 10]]),
]
DECLARED = {"X": ("n", "d"), "v": ("k",)}


SYMBOLIC = {3: "n", 4: "d"}  # X's sizes, by name where the source names them


@pytest.mark.parametrize("source, arrays, expected", CONSTRUCTIONS, ids=[c[0] for c in CONSTRUCTIONS])
def test_constructions_follow_numpys_documentation(source, arrays, expected):
    # c + X[0, 0] * 0 + source: an input c of the result's shape, named where the source names X's sizes
    expected = np.array(expected, dtype=float)
    named = "X" in arrays and re.search(r"\b(n|d|len)\b|\.shape", source) is not None
    shapes = {name: ("n", "d") if name == "X" and named else np.shape(array) for name, array in arrays.items()}
    shapes["c"] = tuple(SYMBOLIC.get(d, d) for d in expected.shape) if named else expected.shape
    c = np.zeros(expected.shape) if expected.shape else 0.0
    uses = " + X[0, 0] * 0.0" if "X" in arrays else ""
    fn = gradc.compile(f"c + {source}{uses}", shapes={k: v for k, v in shapes.items() if v})
    result = fn.forward(c=c, **arrays)
    np.testing.assert_array_equal(result, expected)


def test_a_like_array_has_a_zero_gradient_and_its_operand_only_lends_a_shape(rng):
    fn = gradc.compile("sum(X * ones_like(X)) + sum(full_like(X, 2.0) * zeros_like(X) * X)", shapes={"X": ("n", "d")})
    X = rng.standard_normal((3, 2))
    np.testing.assert_allclose(fn.grad(X=X)["X"], np.ones((3, 2)))  # only the product's own X moves


def test_a_lower_triangular_parametrisation_matches_its_closed_form(rng):
    # L = tril(A): sum((L L^T - S)^2) has dL = 2 (R + R^T) L with R = L L^T - S, and dA = tril(dL)
    fn = gradc.compile("L = tril(A); sum((L @ L.T - S) ** 2)", shapes={"A": ("n", "n"), "S": ("n", "n")})
    A, S = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    L = np.tril(A)
    R = L @ L.T - S
    loss, grads = fn.value_and_grad(A=A, S=S)
    assert loss == pytest.approx(np.sum(R ** 2), rel=1e-12)
    np.testing.assert_allclose(grads["A"], np.tril(2 * (R + R.T) @ L), rtol=1e-10)
    assert np.all(np.triu(grads["A"], 1) == 0)
    assert_grad_matches(fn.forward, grads, {"A": A, "S": S}, ["A", "S"], rng)


def test_a_cholesky_style_factor_with_a_positive_diagonal(rng):
    # L = tril(A, -1) + diag(exp(diagonal(A))): the log-diagonal parametrisation of a Cholesky factor
    source = "L = tril(A, -1) + diag(exp(diagonal(A))); sum((L @ L.T - S) ** 2)"
    fn = gradc.compile(source, shapes={"A": ("n", "n"), "S": ("n", "n")})
    A, S = rng.standard_normal((3, 3)) * 0.5, rng.standard_normal((3, 3))
    L = np.tril(A, -1) + np.diag(np.exp(np.diagonal(A)))
    R = L @ L.T - S
    dL = 2 * (R + R.T) @ L
    expected = np.tril(dL, -1) + np.diag(np.diagonal(dL) * np.exp(np.diagonal(A)))
    loss, grads = fn.value_and_grad(A=A, S=S)
    assert loss == pytest.approx(np.sum(R ** 2), rel=1e-12)
    np.testing.assert_allclose(grads["A"], expected, rtol=1e-10)
    assert_grad_matches(fn.forward, grads, {"A": A, "S": S}, ["A"], rng)


@pytest.mark.parametrize("source, shape, offset", [("diagonal(X, 1)", (3, 5), 1), ("diagonal(X, -2)", (4, 3), -2),
                                                   ("diag(X)", (2, 3), 0), ("X.diagonal()", (4, 2), 0)])
def test_diagonals_of_rectangular_matrices_and_their_gradients(source, shape, offset, rng):
    X = rng.standard_normal(shape)
    w = rng.standard_normal(np.diagonal(X, offset).shape)
    fn = gradc.compile(f"sum(w * {source})", shapes={"X": shape, "w": w.shape})
    value, grads = fn.value_and_grad(X=X, w=w)
    assert value == pytest.approx(w @ np.diagonal(X, offset), rel=1e-12)
    expected = np.zeros(shape)
    rows = np.arange(len(w)) - min(offset, 0)
    expected[rows, rows + offset] = w  # the gradient: w on that diagonal, zeros elsewhere
    np.testing.assert_array_equal(grads["X"], expected)


def test_symbolic_diagonals_off_the_main_one(rng):
    # diag(v, 1) of v (k,) is (k + 1, k + 1); the diagonal -1 of A (n, n) has n - 1 elements
    fn = gradc.compile("sum(diag(v, 1) @ diag(v, 1).T) + sum(diagonal(A, -1) ** 2)", shapes={"v": ("k",),
                                                                                           "A": ("n", "n")})
    v, A = rng.standard_normal(3), rng.standard_normal((4, 4))
    value, grads = fn.value_and_grad(v=v, A=A)
    assert value == pytest.approx(np.sum(np.diag(v, 1) @ np.diag(v, 1).T) + np.sum(np.diagonal(A, -1) ** 2))
    np.testing.assert_allclose(grads["A"], np.diag(2 * np.diagonal(A, -1), -1))
    assert_grad_matches(fn.forward, grads, {"v": v, "A": A}, ["v", "A"], rng)


def test_the_hessian_through_a_diagonal_and_a_triangle(rng):
    # f = sum(diagonal(A)**3) + sum(tril(A)**2): d2f/dA2 is diagonal, 6 a_ii + 2 on the diagonal, 2 below, 0 above
    fn = gradc.compile("sum(diagonal(A) ** 3) + sum(tril(A) ** 2)", shapes={"A": (3, 3)})
    A = rng.standard_normal((3, 3))
    expected = (2 * np.tril(np.ones((3, 3))) + np.diag(6 * np.diagonal(A))).ravel()
    np.testing.assert_allclose(fn.hessian(A=A)["A"]["A"].reshape(9, 9), np.diag(expected), rtol=1e-10, atol=1e-12)


CONSTRUCTION_ERRORS = [
    ("zeros((n // 2, 2))", ParseError, r"a shape is made of .* computed sizes are not supported"),
    ("zeros(X)", ParseError, r"a shape is made of .*dimension names"),
    ("zeros((-1, 2))", ParseError, "non-negative"),
    ("np.zeros()", ShapeError, r"zeros\(\) needs a shape"),
    ("np.full((2,), X[0, 0])", ParseError, r"fill_value must be a number constant.*value \* ones\(shape\)"),
    ("np.full((2,))", ShapeError, "needs its fill_value"),
    ("np.eye()", ShapeError, r"eye\(N, M=None, k=0\) needs the number of rows"),
    ("tril(v)", ShapeError, "tril: the operand must be a matrix"),
    ("diagonal(X, 1)", ShapeError, "offset 1 diagonal of a matrix of shape \\(n, d\\) has a length gradc cannot name"),
    ("diagonal(X)", ShapeError, "main diagonal of a matrix of shape \\(n, d\\).*the smaller of two sizes"),
    ("np.array([[1, 2], [3]])", ShapeError, "ragged"),
    ("np.array([v, X])", ShapeError, r"items of '\[v, X\]' have shapes \(k,\) and \(n, d\)"),
    ("np.array([1, 2], dtype=float)", ParseError, "no dtype"),
    ("np.array([])", ShapeError, "empty array"),
]


@pytest.mark.parametrize("source, error, message", CONSTRUCTION_ERRORS, ids=[e[0] for e in CONSTRUCTION_ERRORS])
def test_bad_constructions_are_clear_errors(source, error, message):
    with pytest.raises(error, match=message):
        gradc.compile(f"sum(X) + sum(v) + sum({source})", shapes=DECLARED)


@pytest.mark.parametrize("source", ["sum(ones((m,)))", "m * 2.0", "sum(eye(m))"])
def test_a_size_of_an_unused_input_is_a_clear_error(source):
    # with strict=False the shapes of unused names are ignored: their dimensions have no array to be read from
    with pytest.raises(UnknownNameError, match="the size m is read from the shape of X, which the source does not use"):
        gradc.compile(source, shapes={"X": ("m",), "W": (2, 2)}, strict=False)


@pytest.mark.parametrize("source, hint", [("np.empty(3)", r"zeros\(shape\)"), ("np.empty_like(x)", "zeros_like"),
                                          ("np.block([[x]])", "hstack and vstack"), ("np.dstack((x, x))", "stack"),
                                          ("np.tri(3)", r"tril\(ones"), ("np.diagflat(x)", r"diag\(v\)")])
def test_near_constructions_have_hints(source, hint):
    with pytest.raises(ParseError, match=hint):
        gradc.compile(f"sum({source})", shapes={"x": (3,)})
