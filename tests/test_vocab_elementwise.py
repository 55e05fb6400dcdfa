"""Issue 12's elementwise functions, activations and masks as users write them: NumPy's documented examples,
the double-where trap in both modes, clip's bounds, kinks, and losses built from them against differences."""
import math
import warnings

import numpy as np
import pytest

import gradc
from gradc.cli.main import run_ops
from gradc.errors import ParseError
from gradc.explain import explain
from gradc.ops import REGISTRY
from helpers import assert_grad_matches

A10 = np.arange(10.0)
X5 = np.arange(5.0)
ROUNDING = np.array([-1.7, -1.5, -0.2, 0.2, 1.5, 1.7, 2.0])


def compiled(source, **arrays):
    return gradc.compile(source, shapes={k: np.shape(v) for k, v in arrays.items() if np.shape(v)})


def forward(source, **arrays):
    """The compiled forward value of `source` at `arrays` (their shapes declared as ints)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0) in NumPy's own examples
        return compiled(source, **arrays).forward(**arrays)


# Examples from the documentation of each function (NumPy's; scipy.special's for expit and logit; jax.nn's
# definitions for the activations, whose pages give formulas, not numbers): source, inputs, documented value.
DOCS = [
    ("np.square(x)", dict(x=np.array([-1.0, 1.0])), [1.0, 1.0]),
    ("np.reciprocal(x)", dict(x=np.array([1.0, 2.0, 3.33])), [1.0, 0.5, 0.3003003003]),
    ("np.reciprocal(x)", dict(x=2.0), 0.5),
    ("np.cbrt(x)", dict(x=np.array([1.0, 8.0, 27.0])), [1.0, 2.0, 3.0]),
    ("np.exp2(x)", dict(x=np.array([2.0, 3.0])), [4.0, 8.0]),
    ("np.log2(x)", dict(x=np.array([0.0, 1.0, 2.0, 2.0 ** 4])), [-np.inf, 0.0, 1.0, 4.0]),
    ("np.log10(x)", dict(x=np.array([1e-15, -3.0])), [-15.0, np.nan]),
    ("np.arcsin(x)", dict(x=np.array([1.0, -1.0, 0.0])), [np.pi / 2, -np.pi / 2, 0.0]),
    ("np.arccos(x)", dict(x=np.array([1.0, -1.0])), [0.0, np.pi]),
    ("np.arctan(x)", dict(x=np.array([0.0, 1.0])), [0.0, np.pi / 4]),
    ("np.arctan2(y, x) * 180 / np.pi", dict(y=np.array([-1.0, -1.0, 1.0, 1.0]), x=np.array([-1.0, 1.0, 1.0, -1.0])),
     [-135.0, -45.0, 45.0, 135.0]),
    ("np.arctan2(y, x)", dict(y=np.array([1.0, -1.0]), x=np.array([0.0, 0.0])), [np.pi / 2, -np.pi / 2]),
    ("np.arcsinh(x)", dict(x=np.array([np.e, 10.0])), [1.72538256, 2.99822295]),
    ("np.arccosh(x)", dict(x=np.array([np.e, 10.0])), [1.65745445, 2.99322285]),
    ("np.arctanh(x)", dict(x=np.array([0.0, -0.5])), [0.0, -0.54930614]),
    ("np.hypot(a, b)", dict(a=3 * np.ones((3, 3)), b=4 * np.ones((3, 3))), 5 * np.ones((3, 3))),
    ("np.hypot(a, 4.0)", dict(a=3 * np.ones((3, 3))), 5 * np.ones((3, 3))),
    ("np.sign(x)", dict(x=np.array([-5.0, 4.5])), [-1.0, 1.0]),
    ("np.sign(x)", dict(x=0.0), 0.0),
    ("np.floor(a)", dict(a=ROUNDING), [-2.0, -2.0, -1.0, 0.0, 1.0, 1.0, 2.0]),
    ("np.ceil(a)", dict(a=ROUNDING), [-1.0, -1.0, -0.0, 1.0, 2.0, 2.0, 2.0]),
    ("np.round(a)", dict(a=np.array([0.37, 1.64])), [0.0, 2.0]),
    ("np.round(a)", dict(a=np.array([0.5, 1.5, 2.5, 3.5, 4.5])), [0.0, 2.0, 2.0, 4.0, 4.0]),
    ("np.rint(a)", dict(a=np.array([-1.7, -1.5, -0.2, 0.2, 1.5, 1.7, 2.0])), [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0, 2.0]),
    ("np.clip(a, 1, 8)", dict(a=A10), [1, 1, 2, 3, 4, 5, 6, 7, 8, 8]),
    ("np.clip(a, 8, 1)", dict(a=A10), [1] * 10),
    ("np.clip(a, low, 8)", dict(a=A10, low=np.array([3.0, 4, 1, 1, 1, 4, 4, 4, 4, 4])), [3, 4, 2, 3, 4, 5, 6, 7, 8, 8]),
    ("np.clip(a, None, 5)", dict(a=A10), [0, 1, 2, 3, 4, 5, 5, 5, 5, 5]),
    ("np.clip(a, 3, None)", dict(a=A10), [3, 3, 3, 3, 4, 5, 6, 7, 8, 9]),
    ("np.power(x1, 3)", dict(x1=np.arange(6.0)), [0, 1, 8, 27, 64, 125]),
    ("np.power(x1, x2)", dict(x1=np.arange(6.0), x2=np.array([1.0, 2, 3, 3, 2, 1])), [0, 1, 8, 27, 16, 5]),
    ("np.float_power(x1, x2)", dict(x1=np.arange(6.0), x2=np.array([1.0, 2, 3, 3, 2, 1])), [0, 1, 8, 27, 16, 5]),
    ("np.exp(np.logaddexp(p1, p2))", dict(p1=math.log(1e-50), p2=math.log(2.5e-50)), 3.5e-50),
    ("2 ** np.logaddexp2(p1, p2)", dict(p1=math.log2(1e-50), p2=math.log2(2.5e-50)), 3.5e-50),
    ("expit(x)", dict(x=np.array([-1.5, 0.0, 1.5])), [0.18242552, 0.5, 0.81757448]),
    ("logit(p)", dict(p=np.array([0.0, 0.25, 0.5, 0.75, 1.0])), [-np.inf, -1.09861229, 0.0, 1.09861229, np.inf]),
    ("log_sigmoid(x)", dict(x=np.array([-800.0, 0.0, 800.0])), [-800.0, -math.log(2.0), 0.0]),
    ("silu(x) - swish(x)", dict(x=np.array([-1.0, 2.0])), [0.0, 0.0]),
    ("silu(x)", dict(x=np.array([-1.0, 0.0, 2.0])), [-1 / (1 + math.e), 0.0, 2 / (1 + math.exp(-2))]),
    ("gelu(x)", dict(x=np.array([0.0, 1.0])), [0.0, 0.5 * (1 + math.tanh(math.sqrt(2 / math.pi) * 1.044715))]),
    ("gelu(x, approximate=False)", dict(x=np.array([-1.0, 0.0, 1.0])),
     [-0.5 * math.erfc(1 / math.sqrt(2)), 0.0, 0.5 * (1 + math.erf(1 / math.sqrt(2)))]),
    ("erf(x)", dict(x=np.array([0.0, 0.5, -3.0])), [0.0, 0.5204998778, -0.9999779095]),  # scipy.special.erf's page
    ("elu(x)", dict(x=np.array([-1.0, 2.0])), [math.expm1(-1.0), 2.0]),
    ("elu(x, alpha=0.5)", dict(x=np.array([-1.0, 2.0])), [0.5 * math.expm1(-1.0), 2.0]),
    ("selu(x)", dict(x=np.array([-1.0, 2.0])), [1.0507009873554805 * 1.6732632423543772 * math.expm1(-1.0),
                                                   2 * 1.0507009873554805]),
    ("leaky_relu(x)", dict(x=np.array([-1.0, 2.0])), [-0.01, 2.0]),
    ("leaky_relu(x, negative_slope=0.2)", dict(x=np.array([-1.0, 2.0])), [-0.2, 2.0]),
    ("relu6(x)", dict(x=np.array([-1.0, 3.0, 7.0])), [0.0, 3.0, 6.0]),
    ("hard_tanh(x)", dict(x=np.array([-2.0, 0.5, 3.0])), [-1.0, 0.5, 1.0]),
    ("softsign(x)", dict(x=np.array([-3.0, 1.0])), [-0.75, 0.5]),
    ("mish(x)", dict(x=np.array([0.0, 1.0])), [0.0, math.tanh(math.log1p(math.e))]),
    ("np.where(a < 5, a, 10 * a)", dict(a=A10), [0, 1, 2, 3, 4, 50, 60, 70, 80, 90]),
    ("np.where(c, x, y)", dict(c=np.array([[1.0, 0.0], [1.0, 1.0]]), x=np.array([[1.0, 2], [3, 4]]),
                               y=np.array([[9.0, 8], [7, 6]])), [[1, 8], [3, 4]]),
    ("np.greater(a, b)", dict(a=np.array([4.0, 2.0]), b=np.array([2.0, 2.0])), [1.0, 0.0]),
    ("a > b", dict(a=np.array([4.0, 2.0]), b=np.array([2.0, 2.0])), [1.0, 0.0]),
    ("np.greater_equal(a, b)", dict(a=np.array([4.0, 2.0, 1.0]), b=np.array([2.0, 2.0, 2.0])), [1.0, 1.0, 0.0]),
    ("np.less(a, b)", dict(a=np.array([1.0, 2.0]), b=np.array([2.0, 2.0])), [1.0, 0.0]),
    ("np.less_equal(a, b)", dict(a=np.array([4.0, 2.0, 1.0]), b=np.array([2.0, 2.0, 2.0])), [0.0, 1.0, 1.0]),
    ("np.equal(a, b)", dict(a=np.array([0.0, 1.0, 3.0]), b=np.arange(3.0)), [1.0, 1.0, 0.0]),
    ("a == b", dict(a=np.array([0.0, 1.0, 3.0]), b=np.arange(3.0)), [1.0, 1.0, 0.0]),
    ("np.not_equal(a, b)", dict(a=np.array([1.0, 2.0]), b=np.array([1.0, 3.0])), [0.0, 1.0]),
    ("np.logical_and(x > 1, x < 4)", dict(x=X5), [0, 0, 1, 1, 0]),
    ("(x > 1) & (x < 4)", dict(x=X5), [0, 0, 1, 1, 0]),
    ("1 < x < 4", dict(x=X5), [0, 0, 1, 1, 0]),
    ("np.logical_or(x < 1, x > 3)", dict(x=X5), [1, 0, 0, 0, 1]),
    ("(x < 1) | (x > 3)", dict(x=X5), [1, 0, 0, 0, 1]),
    ("np.logical_not(x < 3)", dict(x=X5), [0, 0, 0, 1, 1]),
    ("~(x < 3)", dict(x=X5), [0, 0, 0, 1, 1]),
    ("sum(x > 1)", dict(x=X5), 3.0),
    ("x * (x > 1)", dict(x=X5 - 2), [0, 0, 0, 0, 2]),
]


@pytest.mark.parametrize("source, arrays, expected", DOCS, ids=[f"{i}-{d[0]}" for i, d in enumerate(DOCS)])
def test_documented_examples(source, arrays, expected):
    value = forward(source, **arrays)
    np.testing.assert_allclose(value, expected, rtol=3e-8, atol=1e-300)  # the pages print 8 digits
    assert np.asarray(value).dtype == np.float64  # masks and counts are float64 results too


def test_scalar_results_stay_python_floats():
    for source in ("where(x > 0, x, 2 * x)", "elu(x)", "leaky_relu(x)", "selu(x)", "clip(x, 0, 1)", "x > 0"):
        fn = gradc.compile(source)
        value, grads = fn.value_and_grad(x=-0.5) if source != "x > 0" else (fn.forward(x=-0.5), {"x": 0.0})
        assert isinstance(value, float) and isinstance(grads["x"], float), source


# The double-where trap: the unchosen branch is nan or inf at the point, and its gradient must not leak.
TRAPS = [
    ("sum(where(x > 0, log(x), 0))", [0.0, -1.0, 2.0], [0.0, 0.0, 0.5]),
    ("sum(where(x > 0, sqrt(x), x))", [0.0, -1.0, 4.0], [1.0, 1.0, 0.25]),
    ("sum(where(x <= 0, 0, log(x) * log(x)))", [0.0, -1.0, math.e], [0.0, 0.0, 2 / math.e]),
    ("sum(where(x > 0, x ** 0.5 + log(exp(x) - 1), 0))", [0.0, -2.0], [0.0, 0.0]),
    ("sum(where(x != 0, sin(x) / x, 1))", [0.0, math.pi], [0.0, -1 / math.pi]),
    ("sum(where(abs(x) < 1, arctanh(x), 0))", [1.0, -1.0, 0.5], [0.0, 0.0, 1 / 0.75]),
]


@pytest.mark.parametrize("source, x, expected", TRAPS)
def test_where_keeps_the_unchosen_branch_out_of_the_gradient(source, x, expected):
    fn = gradc.compile(source, shapes={"x": ("n",)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy evaluates both branches, as in JAX
        grad = fn.grad(x=np.array(x))["x"]
        np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)
        tangent = fn.jvp({"x": np.ones(len(x))}, x=np.array(x))[1]
        hessian = fn.hessian(x=np.array(x))["x"]["x"]
    assert np.isfinite(tangent) and np.all(np.isfinite(hessian))
    np.testing.assert_allclose(tangent, np.sum(expected), rtol=1e-12)


def test_where_hessian_is_the_chosen_branchs():
    fn = gradc.compile("sum(where(x > 0, log(x), x * x))", shapes={"x": ("n",)})
    x = np.array([0.0, -1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(fn.hessian(x=x)["x"]["x"], np.diag([2.0, 2.0, -0.25]), rtol=1e-12)


def test_where_gradient_matches_differences_on_both_branches(rng):
    fn = gradc.compile("sum(w * where(x > y, exp(x) * y, sin(y) - x))", shapes={"x": ("n",), "y": ("n",), "w": ("n",)})
    point = {"x": rng.standard_normal(8), "y": rng.standard_normal(8), "w": rng.standard_normal(8)}
    assert 0 < np.sum(point["x"] > point["y"]) < 8
    assert_grad_matches(fn.forward, fn.grad(**point), point, ["x", "y", "w"], rng)


def test_where_with_a_broadcast_condition_and_scalar_branch(rng):
    fn = gradc.compile("sum(where(c > 0, X, s) * W)", shapes={"c": ("d",), "X": ("n", "d"), "W": ("n", "d")})
    point = {"c": np.array([1.0, -1.0, 2.0]), "X": rng.standard_normal((2, 3)), "s": 0.7,
             "W": rng.standard_normal((2, 3))}
    grads = fn.grad(**point)
    np.testing.assert_allclose(grads["X"], point["W"] * (point["c"] > 0))
    np.testing.assert_allclose(grads["s"], np.sum(point["W"][:, 1]))
    assert_grad_matches(fn.forward, grads, point, ["X", "s", "W"], rng)


@pytest.mark.parametrize("x, slope", [(-2.0, 0.0), (-0.4, 1.0), (0.8, 1.0), (2.5, 0.0)])
def test_clip_gradient_is_one_inside_and_zero_outside(x, slope):
    fn = gradc.compile("clip(x, -0.5, 1.0)")
    assert fn.grad(x=x)["x"] == slope


def test_clip_bounds_get_the_gradient_where_they_hold(rng):
    fn = gradc.compile("sum(w * clip(x, lo, hi))", shapes={"x": ("n",), "lo": ("n",), "w": ("n",)})
    point = {"x": np.array([-3.0, 0.0, 3.0, 0.5]), "lo": np.array([-1.0, -1.0, -1.0, 2.0]), "hi": 1.0,
             "w": np.array([1.0, 2.0, 3.0, 4.0])}
    grads = fn.grad(**point)
    np.testing.assert_array_equal(grads["x"], [0.0, 2.0, 0.0, 0.0])
    np.testing.assert_array_equal(grads["lo"], [1.0, 0.0, 0.0, 0.0])
    assert grads["hi"] == 3.0 + 4.0  # lo > hi gives hi, as np.clip does
    assert_grad_matches(fn.forward, grads, point, ["x", "lo", "hi", "w"], rng)


def test_clip_with_an_open_bound_writes_no_comparison_with_infinity():
    fn = gradc.compile("sum(clip(x, None, 1.0))", shapes={"x": ("n",)})
    backward = fn.source.split("def value_and_grad")[1].split("# backward")[1].split("return")[0]
    assert ">= -np.inf" not in backward and "maximum" not in backward
    np.testing.assert_array_equal(fn.grad(x=np.array([0.0, 2.0]))["x"], [1.0, 0.0])


@pytest.mark.parametrize("source, x, slope", [
    ("relu6(x)", 5.5, 1.0), ("relu6(x)", 6.5, 0.0), ("hard_tanh(x)", 1.5, 0.0), ("hard_tanh(x)", -1.5, 0.0),
    ("leaky_relu(x)", 0.0, 1.0), ("elu(x, alpha=2.0)", 0.0, 2.0), ("floor(x)", 1.3, 0.0), ("round(x)", 2.5, 0.0),
    ("sign(x)", -3.0, 0.0), ("arctan2(y, x)", 1.0, -0.5)])
def test_slopes_off_the_tables_domains(source, x, slope):
    fn = gradc.compile(source)
    arrays = {"x": x, "y": 1.0} if "arctan2" in source else {"x": x}
    assert fn.grad(**arrays)["x"] == pytest.approx(slope, rel=1e-12)


def test_stable_forms_do_not_overflow():
    fn = gradc.compile("sum(log_sigmoid(x) + logaddexp(x, -x) + mish(x) + silu(x))", shapes={"x": ("n",)})
    x = np.array([-800.0, 800.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grads = fn.value_and_grad(x=x)
    assert np.isfinite(value) and np.all(np.isfinite(grads["x"]))


def test_huber_loss_with_where(rng):
    source = "mean(where(abs(r) <= delta, 0.5 * r ** 2, delta * (abs(r) - 0.5 * delta)))"
    fn = gradc.compile("r = y - X @ w\n" + source, shapes={"y": ("n",), "X": ("n", "d"), "w": ("d",)})
    point = {"y": rng.standard_normal(20), "X": rng.standard_normal((20, 3)), "w": rng.standard_normal(3),
             "delta": 0.6}
    r = point["y"] - point["X"] @ point["w"]
    assert 0 < np.sum(np.abs(r) <= 0.6) < 20  # both pieces in play
    psi = np.where(np.abs(r) <= 0.6, r, 0.6 * np.sign(r))
    np.testing.assert_allclose(fn.grad(**point)["w"], -point["X"].T @ psi / 20, rtol=1e-12)
    assert_grad_matches(fn.forward, fn.grad(**point), point, ["y", "X", "w", "delta"], rng)


@pytest.mark.parametrize("activation", ["gelu", "silu", "elu", "selu", "leaky_relu", "mish", "softsign", "log_sigmoid"])
def test_an_mlp_layer_with_each_activation(activation, rng):
    fn = gradc.compile(f"sum(v * {activation}(X @ W + b))", shapes={"X": ("n", "d"), "W": ("d", "h"), "b": ("h",),
                                                                   "v": ("n", "h")})
    point = {"X": rng.standard_normal((5, 3)), "W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4),
             "v": rng.standard_normal((5, 4))}
    assert_grad_matches(fn.forward, fn.grad(**point), point, ["X", "W", "b", "v"], rng)


@pytest.mark.parametrize("positional, keyword", [("leaky_relu(x, 0.2)", "leaky_relu(x, negative_slope=0.2)"),
                                                 ("elu(x, 0.5)", "elu(x, alpha=0.5)"),
                                                 ("gelu(x, False)", "gelu(x, approximate=False)")])
def test_an_activation_takes_its_parameter_by_position_as_jax_nn_does(positional, keyword):
    x = np.linspace(-2.0, 2.0, 9)
    by_position, by_keyword = (gradc.compile(f"sum({s} * x)", shapes={"x": (9,)}) for s in (positional, keyword))
    assert by_position.source.split('"""', 2)[2] == by_keyword.source.split('"""', 2)[2].replace(keyword, positional)
    value, grads = by_position.value_and_grad(x=x)
    assert (value, grads["x"].tolist()) == (by_keyword(x=x), by_keyword.grad(x=x)["x"].tolist())


@pytest.mark.parametrize("source, words", [
    ("x & y", "'x' is not a mask"),
    ("(x > 0) | y", "'y' is not a mask"),
    ("~x", "'x' is not a mask"),
    ("x in y", "comparison"),
    ("gelu(x, approximate=0)", "True or False"),
    ("elu(x, alpha=y)", "expected a number"),
])
def test_bad_input_names_the_construct(source, words):
    with pytest.raises(ParseError, match=words) as error:
        gradc.compile(source)
    assert error.value.line == 1 and error.value.column is not None


def test_explain_and_ops_show_the_new_functions(capsys):
    run_ops(None)
    listing = capsys.readouterr().out
    for name in ("arctan2", "logaddexp", "clip", "where", "gelu", "leaky_relu", "greater_equal", "logical_and"):
        assert name in listing, name
    explained = explain(gradc.compile("sum(where(x > 0, gelu(x), elu(x, alpha=0.5)))", shapes={"x": ("n",)}))
    assert "d/dx = where(r, 0.5 * (1 + s)" in explained and "elu(x, alpha=0.5)" in explained and "r = (x > 0)" in explained


NEW_UNARY = ["square", "reciprocal", "cbrt", "exp2", "log2", "log10", "arcsin", "arccos", "arctan", "arcsinh",
             "arccosh", "arctanh", "log_sigmoid", "logit", "silu", "gelu", "elu", "selu", "leaky_relu", "relu6",
             "hard_tanh", "softsign", "mish", "floor", "erf"]


@pytest.mark.parametrize("name", NEW_UNARY)
def test_second_derivatives_match_differences_of_the_gradient(name, rng):
    """The Hessian (forward mode over the reverse pass) of sum(w * f(x)) is diagonal, w * f''(x)."""
    domain = REGISTRY[name].domain[0]
    fn = gradc.compile(f"sum(w * {name}(x))", wrt=["x"], shapes={"x": ("n",), "w": ("n",)})
    x, w = domain.sample(rng, (4,)), rng.standard_normal(4)
    hessian = fn.hessian(x=x, w=w)["x"]["x"]
    eps = 1e-6
    columns = [(fn.grad(x=x + eps * e, w=w)["x"] - fn.grad(x=x - eps * e, w=w)["x"]) / (2 * eps) for e in np.eye(4)]
    np.testing.assert_allclose(hessian, np.array(columns).T, rtol=1e-6, atol=1e-6)


def test_the_modules_erf_is_maths_to_the_last_digits():
    x = np.concatenate([np.linspace(-7.0, 7.0, 2001), [0.0, 1e-300, -1e-12, 5.9999, np.inf, -np.inf, 1e300]])
    fn = gradc.compile("erf(x)", shapes={"x": ("n",)})
    assert "def _erf(x):" in fn.source
    np.testing.assert_allclose(fn.forward(x=x), [math.erf(v) for v in x], rtol=5e-15, atol=1e-300)
    assert np.isnan(fn.forward(x=np.array([np.nan, 1.0]))[0])
    assert gradc.compile("erf(x)").forward(x=0.3) == pytest.approx(math.erf(0.3), rel=5e-15)


def test_exact_gelu_gradient_is_phi_plus_x_density(rng):
    fn = gradc.compile("sum(gelu(x, approximate=False))", shapes={"x": ("n",)})
    x = rng.uniform(-4.0, 4.0, 50)
    phi = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    np.testing.assert_allclose(fn.grad(x=x)["x"], cdf + x * phi, rtol=1e-12, atol=1e-15)
