"""Issue 12's reductions, as users write them: NumPy's documented examples, gradients at ties and zeros, second
derivatives, and losses built from them, each against NumPy's own values or central differences."""
import numpy as np
import pytest

import gradc
from gradc.errors import ShapeError
from helpers import assert_grad_matches

INF = np.inf


def forward(source, **arrays):
    """The compiled forward value of `source` at `arrays` (their shapes declared as ints)."""
    fn = gradc.compile(source, shapes={k: np.shape(v) for k, v in arrays.items() if np.shape(v)})
    return fn.forward(**arrays)


# Examples from NumPy's documentation of each function (and scipy's for logsumexp): source, inputs, NumPy's value.
A = np.array([[1.0, 2.0], [3.0, 4.0]])
C = np.array([[1.0, 2.0, 3.0], [-1.0, 1.0, 4.0]])
V = np.arange(9.0) - 4  # linalg.norm's a
B = V.reshape(3, 3)  # and its b
M = np.arange(8.0).reshape(2, 2, 2)
R = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
DOCS = [
    ("np.sum(x, axis=0)", dict(x=np.array([[0.0, 1.0], [0.0, 5.0]])), [0.0, 6.0]),
    ("np.sum(x, axis=1)", dict(x=np.array([[0.0, 1.0], [0.0, 5.0]])), [1.0, 5.0]),
    ("np.sum(x, axis=1, keepdims=True)", dict(x=np.array([[0.0, 1.0], [0.0, 5.0]])), [[1.0], [5.0]]),
    ("np.mean(a)", dict(a=A), 2.5),
    ("np.mean(a, axis=0)", dict(a=A), [2.0, 3.0]),
    ("np.mean(a, 1)", dict(a=A), [1.5, 3.5]),
    ("np.max(a)", dict(a=np.arange(4.0).reshape(2, 2)), 3.0),
    ("np.max(a, axis=0)", dict(a=np.arange(4.0).reshape(2, 2)), [2.0, 3.0]),
    ("np.amin(a, axis=1)", dict(a=np.arange(4.0).reshape(2, 2)), [0.0, 2.0]),
    ("np.min(a, axis=-1, keepdims=True)", dict(a=np.arange(4.0).reshape(2, 2)), [[0.0], [2.0]]),
    ("np.prod(x)", dict(x=np.array([1.0, 2.0])), 2.0),
    ("np.prod(a)", dict(a=A), 24.0),
    ("np.prod(a, axis=1)", dict(a=A), [2.0, 12.0]),
    ("np.prod(a, axis=0)", dict(a=A), [3.0, 8.0]),
    ("np.var(a)", dict(a=A), 1.25),
    ("np.var(a, axis=0)", dict(a=A), [1.0, 1.0]),
    ("np.var(a, axis=1)", dict(a=A), [0.25, 0.25]),
    ("np.std(a)", dict(a=A), 1.1180339887498949),
    ("np.std(a, axis=0)", dict(a=A), [1.0, 1.0]),
    ("np.std(a, axis=1)", dict(a=A), [0.5, 0.5]),
    ("np.var(a, ddof=1)", dict(a=A), 5.0 / 3.0),
    ("np.std(a, axis=0, ddof=1, keepdims=True)", dict(a=A), [[np.sqrt(2.0), np.sqrt(2.0)]]),
    ("norm(a)", dict(a=V), 7.745966692414834),
    ("norm(b)", dict(b=B), 7.745966692414834),
    ("norm(b, 'fro')", dict(b=B), 7.745966692414834),
    ("norm(a, np.inf)", dict(a=V), 4.0),
    ("norm(b, np.inf)", dict(b=B), 9.0),
    ("norm(a, -np.inf)", dict(a=V), 0.0),
    ("norm(b, -np.inf)", dict(b=B), 2.0),
    ("norm(a, 1)", dict(a=V), 20.0),
    ("norm(b, 1)", dict(b=B), 7.0),
    ("norm(b, -1)", dict(b=B), 6.0),
    ("norm(a, 2)", dict(a=V), 7.745966692414834),
    ("norm(b, 2)", dict(b=B), 7.3484692283495345),
    ("norm(b, 'nuc')", dict(b=B), 9.797958971132712),
    ("norm(a, 3)", dict(a=V), 5.848035476425731),
    ("norm(c, axis=0)", dict(c=C), [1.4142135623730951, 2.23606797749979, 5.0]),
    ("norm(c, axis=1)", dict(c=C), [3.7416573867739413, 4.242640687119285]),
    ("norm(c, ord=1, axis=1)", dict(c=C), [6.0, 6.0]),
    ("norm(m, axis=(1, 2))", dict(m=M), [3.7416573867739413, 11.224972160321824]),
    ("np.cumsum(a)", dict(a=R), [1.0, 3.0, 6.0, 10.0, 15.0, 21.0]),
    ("np.cumsum(a, axis=0)", dict(a=R), [[1.0, 2.0, 3.0], [5.0, 7.0, 9.0]]),
    ("np.cumsum(a, axis=1)", dict(a=R), [[1.0, 3.0, 6.0], [4.0, 9.0, 15.0]]),
    ("np.cumprod(a)", dict(a=np.array([1.0, 2.0, 3.0])), [1.0, 2.0, 6.0]),
    ("np.cumprod(a)", dict(a=R), [1.0, 2.0, 6.0, 24.0, 120.0, 720.0]),
    ("np.cumprod(a, axis=0)", dict(a=R), [[1.0, 2.0, 3.0], [4.0, 10.0, 18.0]]),
    ("np.cumprod(a, axis=1)", dict(a=R), [[1.0, 2.0, 6.0], [4.0, 20.0, 120.0]]),
    ("logsumexp(a)", dict(a=np.arange(10.0)), 9.45862974442671),
    ("logsumexp(a, axis=1, keepdims=True)", dict(a=R), np.log(np.sum(np.exp(R), axis=1, keepdims=True))),
]


@pytest.mark.parametrize("source, arrays, expected", DOCS, ids=[f"{i}-{case[0]}" for i, case in enumerate(DOCS)])
def test_numpy_documentation_examples(source, arrays, expected):
    value = forward(source, **arrays)
    np.testing.assert_allclose(value, expected, rtol=1e-13, atol=1e-15)
    assert np.shape(value) == np.shape(expected)


def grad_of(source, shapes, **arrays):
    return gradc.compile(source, shapes=shapes).grad(**arrays)


# prod's gradient is the product of the other elements, exact with zeros in the input
@pytest.mark.parametrize("x, expected", [
    ([2.0, 3.0, 4.0], [12.0, 8.0, 6.0]),
    ([2.0, 0.0, 4.0], [0.0, 8.0, 0.0]),  # one zero: only its own partial is not 0
    ([0.0, 3.0, 0.0], [0.0, 0.0, 0.0]),  # two zeros: every partial holds a zero
    ([0.0], [1.0]),
])
def test_prod_gradient_with_zeros(x, expected):
    g = grad_of("prod(x)", {"x": (len(x),)}, x=np.array(x))["x"]
    np.testing.assert_array_equal(g, expected)


def test_prod_gradient_with_zeros_along_an_axis():
    X = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 5.0], [3.0, 4.0, 2.0]])
    g = grad_of("sum(w * prod(X, axis=1))", {"X": ("n", "d"), "w": ("n",)}, X=X, w=np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(g["X"], [[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [24.0, 18.0, 36.0]])
    np.testing.assert_array_equal(g["w"], [0.0, 0.0, 24.0])


def test_prod_over_axes_matches_differences(rng):
    X = rng.uniform(0.5, 1.5, size=(3, 2, 4)) * rng.choice([-1.0, 1.0], size=(3, 2, 4))
    fn = gradc.compile("sum(W * prod(X, axis=(0, 2), keepdims=True))", shapes={"X": (3, 2, 4), "W": (1, 2, 1)})
    arrays = {"X": X, "W": rng.standard_normal((1, 2, 1))}
    assert_grad_matches(fn.forward, fn.grad(**arrays), arrays, ["X", "W"], rng)


def test_prod_does_not_divide_where_a_product_underflows():
    # x[0]'s others multiply to 1e-300 * 1e300 = 1, where prod(x) / x[0] would be 0 / 1e-300 (prod underflows)
    x = np.array([1e-300, 1e-300, 1e300])
    np.testing.assert_array_equal(grad_of("prod(x)", {"x": (3,)}, x=x)["x"], [1.0, 1.0, 0.0])


# max and min: tied extremes share the gradient evenly, as in JAX
@pytest.mark.parametrize("source, x, expected", [
    ("max(x)", [1.0, 3.0, 3.0], [0.0, 0.5, 0.5]),
    ("np.amax(x)", [2.0, 2.0, 2.0, 2.0], [0.25, 0.25, 0.25, 0.25]),
    ("min(x)", [-1.0, 3.0, -1.0], [0.5, 0.0, 0.5]),
    ("norm(x, np.inf)", [-3.0, 1.0, 3.0], [-0.5, 0.0, 0.5]),
])
def test_ties_split_the_gradient_evenly(source, x, expected):
    np.testing.assert_array_equal(grad_of(source, {"x": (len(x),)}, x=np.array(x))["x"], expected)


def test_ties_along_an_axis_with_keepdims():
    X = np.array([[1.0, 4.0, 4.0], [2.0, 0.0, 1.0]])
    g = grad_of("sum(W * np.max(X, axis=1, keepdims=True))", {"X": ("n", "d"), "W": ("n", 1)}, X=X,
                W=np.array([[2.0], [3.0]]))
    np.testing.assert_array_equal(g["X"], [[0.0, 1.0, 1.0], [3.0, 0.0, 0.0]])


def test_a_matrix_norms_tied_columns_share_the_gradient():
    X = np.array([[1.0, -2.0], [2.0, 1.0]])  # both column sums are 3
    np.testing.assert_array_equal(grad_of("norm(X, 1)", {"X": (2, 2)}, X=X)["X"], [[0.5, -0.5], [0.5, 0.5]])


def test_std_gradient_is_nan_at_zero_spread_and_var_is_zero():
    x = np.full(4, 2.0)
    with np.errstate(all="ignore"):
        assert np.all(np.isnan(grad_of("std(x)", {"x": (4,)}, x=x)["x"]))
    np.testing.assert_array_equal(grad_of("var(x)", {"x": (4,)}, x=x)["x"], np.zeros(4))


@pytest.mark.parametrize("source, shapes", [
    ("sum(keep * sum(X, axis=1, keepdims=True))", {"X": ("n", "d"), "keep": ("n", 1)}),
    ("sum(keep * mean(X, axis=0, keepdims=True))", {"X": ("n", "d"), "keep": (1, "d")}),
    ("sum(keep * np.min(X, 0, keepdims=True))", {"X": ("n", "d"), "keep": (1, "d")}),
    ("sum(keep * logsumexp(X, axis=1, keepdims=True))", {"X": ("n", "d"), "keep": ("n", 1)}),
    ("sum(keep * logsumexp(X, keepdims=True))", {"X": ("n", "d"), "keep": (1, 1)}),
    ("sum(keep * norm(X, axis=1, keepdims=True))", {"X": ("n", "d"), "keep": ("n", 1)}),
    ("sum(keep * var(X, axis=-1, ddof=1, keepdims=True))", {"X": ("n", "d"), "keep": ("n", 1)}),
    ("sum(np.prod(X, axis=(0, 1), keepdims=True) * keep)", {"X": ("n", "d"), "keep": (1, 1)}),
    ("sum(softmax(X, axis=(0, 1)) * keep)", {"X": ("n", "d"), "keep": ("n", "d")}),
    ("sum(log_softmax(X, axis=(0, 1)) * keep)", {"X": ("n", "d"), "keep": ("n", "d")}),
    ("sum(cumsum(X, axis=0) * keep)", {"X": ("n", "d"), "keep": ("n", "d")}),
    ("sum(cumsum(X) * keep)", {"X": (2, 3), "keep": (6,)}),
    ("sum(cumprod(X) * keep)", {"X": (2, 3), "keep": (6,)}),
    ("sum(cumprod(X, axis=-1) * keep)", {"X": ("n", "d"), "keep": ("n", "d")}),
])
def test_keepdims_and_axes_in_the_source_match_differences(source, shapes, rng):
    sizes = {"n": 3, "d": 4}
    arrays = {name: rng.uniform(0.5, 1.5, size=tuple(sizes.get(d, d) for d in dims)) for name, dims in shapes.items()}
    fn = gradc.compile(source, shapes=shapes)
    grads = fn.grad(**arrays)
    for name in arrays:
        assert grads[name].shape == arrays[name].shape
    assert_grad_matches(fn.forward, grads, arrays, list(arrays), rng)


def fd_hessian(fn, arrays, a, b, eps=1e-5):
    """d/d b of the gradient with respect to a, by central differences: shape a's + b's."""
    x = np.array(arrays[b], dtype=float)
    columns = []
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        hi = fn.grad(**{**arrays, b: x + step})[a]
        lo = fn.grad(**{**arrays, b: x - step})[a]
        columns.append((hi - lo) / (2 * eps))
    return np.moveaxis(np.array(columns), 0, -1).reshape(np.shape(arrays[a]) + x.shape)


@pytest.mark.parametrize("source, shape", [
    ("prod(x)", (4,)),
    ("sum(prod(X, axis=0))", (3, 2)),
    ("var(x, ddof=1)", (5,)),
    ("sum(std(X, axis=1))", (2, 3)),
    ("norm(x)", (4,)),
    ("norm(x, 3)", (4,)),
    ("norm(X)", (2, 3)),
    ("sum(logsumexp(X, axis=0, keepdims=True))", (2, 3)),
    ("sum(cumprod(x) * cumsum(x))", (4,)),
])
def test_hessian_matches_differences_of_the_gradient(source, shape, rng):
    name = "x" if len(shape) == 1 else "X"
    arrays = {name: rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)}
    fn = gradc.compile(source, shapes={name: shape})
    hessian = fn.hessian(**arrays)[name][name]
    np.testing.assert_allclose(hessian, fd_hessian(fn, arrays, name, name), rtol=1e-5, atol=1e-6)


def test_prod_hessian_at_a_zero_is_nan_not_wrong():
    """The product of the others' own derivative divides by x (gradc/ops/reduce.py): loud at an exact zero."""
    fn = gradc.compile("prod(x)", shapes={"x": (3,)})
    with np.errstate(all="ignore"):
        hessian = fn.hessian(x=np.array([2.0, 0.0, 4.0]))["x"]["x"]
    assert np.isnan(hessian).any()


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (3, 3)])
def test_spectral_and_nuclear_norms_gradient_from_the_svd(ord, shape, rng):
    X = rng.standard_normal(shape)
    fn = gradc.compile(f"norm(X, {ord!r})", shapes={"X": ("n", "d")})
    np.testing.assert_allclose(fn.forward(X=X), np.linalg.norm(X, ord), rtol=1e-13)
    u, s, vt = np.linalg.svd(X, full_matrices=False)
    closed = {2: np.outer(u[:, 0], vt[0]), -2: np.outer(u[:, -1], vt[-1]), "nuc": u @ vt}[ord]
    np.testing.assert_allclose(fn.grad(X=X)["X"], closed, rtol=1e-12, atol=1e-14)
    assert_grad_matches(fn.forward, fn.grad(X=X), {"X": X}, ["X"], rng)


def test_spectral_norm_has_no_hessian_and_says_so(rng):
    fn = gradc.compile("norm(X, 2)", shapes={"X": (3, 3)})
    with pytest.raises(gradc.GradcError, match=r"norm\(X, ord=2\) of a matrix is differentiated once"):
        fn.hessian(X=rng.standard_normal((3, 3)))


# real losses, against central differences
def test_batch_norm_standardization(rng):
    source = "h = (X - mean(X, axis=0, keepdims=True)) / std(X, axis=0, keepdims=True); sum(W * h)"
    fn = gradc.compile(source, shapes={"X": ("n", "d"), "W": ("n", "d")})
    arrays = {"X": rng.standard_normal((5, 3)), "W": rng.standard_normal((5, 3))}
    value, grads = fn.value_and_grad(**arrays)
    X, W = arrays["X"], arrays["W"]
    np.testing.assert_allclose(value, np.sum(W * (X - X.mean(axis=0)) / X.std(axis=0)), rtol=1e-12)
    assert_grad_matches(fn.forward, grads, arrays, ["X", "W"], rng)
    np.testing.assert_allclose(grads["X"].sum(axis=0), 0.0, atol=1e-12)  # standardizing forgets a shift


def test_gaussian_negative_log_likelihood_with_var(rng):
    # residuals r = y - X @ w; the NLL at the variance's maximum-likelihood estimate: (n/2) log(var(r)) + const
    source = "r = y - X @ w; 0.5 * log(var(r)) + 0.5 * sum(r**2) / (var(r) * 6)"
    fn = gradc.compile(source, shapes={"X": (6, 3), "y": (6,), "w": (3,)})
    arrays = {"X": rng.standard_normal((6, 3)), "y": rng.standard_normal(6), "w": rng.standard_normal(3)}
    value, grads = fn.value_and_grad(**arrays)
    r = arrays["y"] - arrays["X"] @ arrays["w"]
    np.testing.assert_allclose(value, 0.5 * np.log(np.var(r)) + 0.5 * np.sum(r ** 2) / (np.var(r) * 6), rtol=1e-12)
    assert_grad_matches(fn.forward, grads, arrays, ["X", "y", "w"], rng)


def test_ridge_penalty_with_a_squared_norm_becomes_a_dot(rng):
    fn = gradc.compile("sum((X @ w - y)**2) + 0.1 * norm(w)**2", shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)})
    assert "np.linalg.norm" not in fn.source  # norm(w)**2 -> w @ w: no square root to square
    arrays = {"X": rng.standard_normal((5, 3)), "w": rng.standard_normal(3), "y": rng.standard_normal(5)}
    X, w, y = arrays["X"], arrays["w"], arrays["y"]
    np.testing.assert_allclose(fn.grad(**arrays)["w"], 2 * X.T @ (X @ w - y) + 0.2 * w, rtol=1e-12)


# bad input: one clear error naming the construct, with what to write instead
@pytest.mark.parametrize("source, shapes, words", [
    ("norm(x, 0)", {"x": ("n",)}, "ord=0 counts the nonzero elements"),
    ("norm(x, 'fro')", {"x": ("n",)}, "is a matrix norm"),
    ("norm(X, 3)", {"X": ("n", "d")}, "a matrix takes ord None"),
    ("norm(T, 2, axis=(1, 2))", {"T": (2, 3, 4)}, "index one matrix out of the stack"),
    ("norm(T, 1)", {"T": (2, 3, 4)}, "needs a vector or a matrix (or an axis)"),
    ("norm(X, axis=(0, 0))", {"X": ("n", "d")}, "one axis twice"),
    ("sum(cumsum(X))", {"X": ("n", "d")}, "give an axis"),
    ("prod(x, axis=1)", {"x": ("n",)}, "axis 1 is out of range"),
    ("sum(var(X, axis=2))", {"X": ("n", "d")}, "axis 2 is out of range"),
])
def test_bad_reductions_say_what_to_write(source, shapes, words):
    with pytest.raises(ShapeError) as error:
        gradc.compile(source, shapes=shapes)
    assert words in str(error.value)
