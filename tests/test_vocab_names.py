"""NumPy's other names for gradc's functions (np.multiply, np.asin, np.concat...), and what NumPy's functions
that gradc does not compile say: their own hint, never a similar-looking gradc name as a typo."""
import numpy as np
import pytest

import gradc
from gradc.errors import GradcError, UnknownNameError
from gradc.frontend.parse import FUNCTIONS, UNSUPPORTED_FUNCTIONS

# alias call, the inputs' shapes, NumPy's function with the same arguments, the inputs' range
ALIASES = [
    ("add(x, y)", np.add, (-2, 2)), ("subtract(x, y)", np.subtract, (-2, 2)),
    ("multiply(x, y)", np.multiply, (-2, 2)), ("divide(x, y)", np.divide, (0.5, 2)),
    ("true_divide(x, y)", np.true_divide, (0.5, 2)), ("negative(x)", np.negative, (-2, 2)),
    ("absolute(x)", np.absolute, (0.5, 2)), ("fabs(x)", np.fabs, (-2, -0.5)), ("pow(x, y)", np.pow, (0.5, 2)),
    ("asin(x)", np.asin, (-0.9, 0.9)), ("acos(x)", np.acos, (-0.9, 0.9)), ("atan(x)", np.atan, (-2, 2)),
    ("asinh(x)", np.asinh, (-2, 2)), ("acosh(x)", np.acosh, (1.2, 3)), ("atanh(x)", np.atanh, (-0.9, 0.9)),
    ("atan2(x, y)", np.atan2, (0.5, 2)), ("concat((x, y))", lambda x, y: np.concat((x, y)), (-2, 2)),
]


@pytest.mark.parametrize("call, numpy_function, bounds", ALIASES, ids=[a[0] for a in ALIASES])
def test_an_alias_means_what_numpy_means_and_is_differentiated(call, numpy_function, bounds, rng):
    """The value is NumPy's function of the same name; the gradient of sum(W * alias(...)) its differences."""
    arity = call.count(",") + 1
    inputs = {name: rng.uniform(*bounds, size=3) for name in ("x", "y")[:arity]}
    fn = gradc.compile(f"np.{call}", shapes={name: (3,) for name in inputs})
    np.testing.assert_allclose(fn.forward(**inputs), numpy_function(*inputs.values()), rtol=1e-14)
    weights = rng.normal(size=np.shape(fn.forward(**inputs)))
    loss = gradc.compile(f"sum(W * {call})", shapes={"W": weights.shape, **{n: (3,) for n in inputs}})
    _, grads = loss.value_and_grad(W=weights, **inputs)
    for name, x in inputs.items():
        numeric = np.zeros_like(x)
        for i in range(x.size):
            step = np.zeros_like(x)
            step[i] = 1e-6
            numeric[i] = (loss(W=weights, **{**inputs, name: x + step}) -
                          loss(W=weights, **{**inputs, name: x - step})) / 2e-6
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_permute_dims_is_transpose_with_axes(rng):
    fn = gradc.compile("permute_dims(T, (2, 0, 1))", shapes={"T": (2, 3, 4)})
    T = rng.normal(size=(2, 3, 4))
    np.testing.assert_array_equal(fn.forward(T=T), np.permute_dims(T, (2, 0, 1)))


# an unsupported function, its hint's words, and the rewrite the hint proposes (which compiles)
HINTS = [
    ("sum(pinv(A) @ b)", "solve(A.T @ A, A.T @ b)", "sum(solve(A.T @ A, A.T @ b))"),
    ("sum(lstsq(A, b))", "solve(A.T @ A, A.T @ b)", "sum(solve(A.T @ A, A.T @ b))"),
    ("sum(np.linalg.svd(A))", "norm(A, 2)", "norm(A, 2) + norm(A, 'nuc')"),
    ("sum(eigvals(A))", "trace(A)", "trace(A) + det(A)"),
    ("sum(np.linalg.eigh(A))", "trace(A)", "trace(A)"),
    ("median(b)", "sort", None),
    ("sum(cov(A))", "Xc.T @ Xc / (n - 1)", "Xc = A - mean(A, axis=0); sum(Xc.T @ Xc / (n - 1))"),
    ("sum(diff(b))", "x[1:] - x[:-1]", "sum(b[1:] - b[:-1])"),
    ("sum(ptp(A, 0))", "np.max(x, axis) - np.min(x, axis)", "sum(np.max(A, 0) - np.min(A, 0))"),
    ("sum(average(b))", "sum(w * x) / sum(w)", "sum(b * b) / sum(b)"),
    ("sum(matrix_power(A, 3))", "A @ A @ A", "sum(A @ A @ A)"),
    ("sum(heaviside(b, 0.5))", "where(x > 0, 1.0, 0.0)", "sum(where(b > 0, 1.0, 0.0))"),
    ("sum(deg2rad(b))", "x * pi / 180", "sum(b * pi / 180)"),
    ("sum(fmax(b, 1.0))", "maximum(a, b)", "sum(maximum(b, 1.0))"),
    ("sum(expm(A))", "matrix functions", None),
]
SHAPES = {"A": ("n", "n"), "b": ("n",)}


@pytest.mark.parametrize("source, words, rewrite", HINTS, ids=[h[0] for h in HINTS])
def test_an_unsupported_function_gets_its_hint_and_the_hint_compiles(source, words, rewrite):
    with pytest.raises(GradcError) as caught:
        gradc.compile(source, shapes=SHAPES)
    message = str(caught.value)
    assert words in message and "did you mean" not in message, message
    if rewrite is not None:
        gradc.compile(rewrite, shapes=SHAPES, strict=False)


# NumPy's names that are no function of gradc's and have no hint of their own
OTHER_NUMPY = sorted(name for name in dir(np) + dir(np.linalg)
                     if not name.startswith("_") and callable(getattr(np, name, getattr(np.linalg, name, None)))
                     and name not in FUNCTIONS and name not in UNSUPPORTED_FUNCTIONS)


def test_no_numpy_function_is_read_as_a_typo_of_a_gradc_function():
    """np.sinc is no misspelt sin, np.cov no cos, np.interp no inner: each says it is not supported."""
    assert {"sinc", "interp", "nanmean", "trapezoid"} <= set(OTHER_NUMPY)
    wrong = {}
    for name in OTHER_NUMPY:
        with pytest.raises(GradcError) as caught:
            gradc.compile(f"{name}(x)")
        if "did you mean" in str(caught.value):
            wrong[name] = str(caught.value)
    assert not wrong, wrong


def test_a_numpy_function_without_a_hint_is_named_as_numpy_s():
    with pytest.raises(UnknownNameError, match=r"np\.sinc is not supported \(`gradc ops` lists"):
        gradc.compile("sinc(x)")


@pytest.mark.parametrize("source, spelled", [("math.exp(x)", "exp(...) or np.exp(...)"),
                                             ("linalg.norm(x)", "norm(...) or np.linalg.norm(...)"),
                                             ("x.norm()", "norm(...) or np.linalg.norm(...)")])
def test_a_gradc_function_reached_by_another_module_says_how_to_call_it(source, spelled):
    with pytest.raises(UnknownNameError, match=f"write {spelled}".replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.")):
        gradc.compile(source, shapes={"x": ("n",)})
