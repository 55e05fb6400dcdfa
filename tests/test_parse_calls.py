"""How the source binds calls as NumPy does: methods, positional options, np.linalg names, sizes as values,
and the one-line rejections of what stays unsupported (issue 12's machinery)."""
import math

import numpy as np
import pytest

import gradc
from gradc.errors import GradcError, ParseError, ShapeError, UnknownNameError
from gradc.frontend.parse import FUNCTIONS, input_names, near_typo
from helpers import assert_grad_matches

RNG = np.random.default_rng(12)
X = RNG.normal(size=(5, 3))
x = RNG.normal(size=3)
w = RNG.normal(size=3)

NAMED = {"X": ("n", "d"), "x": ("d",), "w": ("d",)}
ARRAYS = {"X": X, "x": x, "w": w}


def compiled(source):
    return gradc.compile(source, shapes={k: v for k, v in NAMED.items() if k in input_names(source)})


def value(source):
    fn = compiled(source)
    return fn.forward(**{k: ARRAYS[k] for k in fn.inputs})


# What a newcomer types, and what NumPy computes for it.
METHODS = [
    ("x.sum()", x.sum()),
    ("X.sum(axis=1)", X.sum(axis=1)),
    ("X.mean(axis=1)", X.mean(axis=1)),
    ("X.mean(0)", X.mean(0)),
    ("X.max(0)", X.max(0)),
    ("X.min(axis=-1, keepdims=True)", X.min(axis=-1, keepdims=True)),
    ("X.std(0)", X.std(0)),
    ("X.var(axis=1, ddof=1)", X.var(axis=1, ddof=1)),
    ("x.prod()", x.prod()),
    ("x.dot(w)", x.dot(w)),
    ("X.dot(w).sum()", X.dot(w).sum()),
    ("(X @ w).dot(X @ w)", (X @ w).dot(X @ w)),
    ("X.transpose()", X.transpose()),
    ("X.T.sum(1)", X.T.sum(1)),
    ("x.clip(-0.5, 0.5)", x.clip(-0.5, 0.5)),
    ("X.cumsum(axis=0)", X.cumsum(axis=0)),
    ("np.sum(X, 1)", np.sum(X, 1)),
    ("np.linalg.norm(x)", np.linalg.norm(x)),
    ("numpy.linalg.norm(X, 'fro')", np.linalg.norm(X, "fro")),
    ("np.e ** x", np.e ** x),
    ("np.pi * x + np.e", np.pi * x + math.e),
]


@pytest.mark.parametrize("source, expected", METHODS, ids=[s for s, _ in METHODS])
def test_methods_and_numpy_forms_mean_what_numpy_means(source, expected):
    np.testing.assert_allclose(value(source), expected, rtol=1e-12, atol=1e-12)


SIZES = [
    ("sum(X)/n", X.sum() / 5),
    ("sum(X) / (n * d)", X.sum() / 15),
    ("sum(X)/len(X)", X.sum() / len(X)),
    ("sum(X)/X.shape[0]", X.sum() / X.shape[0]),
    ("sum(X)/X.shape[-1]", X.sum() / X.shape[-1]),
    ("sum(X)/X.size", X.sum() / X.size),
    ("sum(x) * X.ndim", x.sum() * X.ndim),
    ("sum((X @ w)**2)/(2*n)", np.sum((X @ w) ** 2) / 10),
]


@pytest.mark.parametrize("source, expected", SIZES, ids=[s for s, _ in SIZES])
def test_sizes_are_values_read_from_the_arrays(source, expected):
    np.testing.assert_allclose(value(source), expected, rtol=1e-12)


def test_a_dimension_divides_the_mean_loss_and_its_gradient_follows_the_batch_size():
    fn = gradc.compile("-sum(Y * log_softmax(Z, axis=1)) / n", shapes={"Y": ("n", "k"), "Z": ("n", "k")})
    for rows in (4, 9):
        Y = np.eye(3)[RNG.integers(0, 3, size=rows)]
        Z = RNG.normal(size=(rows, 3))
        shifted = Z - Z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss, grads = fn.value_and_grad(Y=Y, Z=Z)
        np.testing.assert_allclose(loss, -np.sum(Y * log_p) / rows, rtol=1e-12)
        np.testing.assert_allclose(grads["Z"], (np.exp(log_p) - Y) / rows, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("source", ["x.sum() * x.dot(w)", "X.mean(axis=1).dot(X @ w) / len(X)",
                                    "X.std(0).sum() + X.max(1).sum() / X.shape[0]"])
def test_method_forms_differentiate(source):
    fn = compiled(source)
    arrays = {k: ARRAYS[k] for k in fn.inputs}
    _, grads = fn.value_and_grad(**arrays)
    assert_grad_matches(fn.forward, grads, arrays, fn.inputs, RNG)


REJECTED = [
    ("x.sort()", "sort", 0),
    ("sort(x)", "permutation", 0),
    ("np.argmax(x)", "integer", 0),
    ("x.argmax()", "integer", 0),
    ("np.split(x, 3)", "slicing", 0),
    ("np.unique(x)", "data-dependent", 0),
    ("np.linalg.eig(X)", "eigendecompositions", 0),
    ("np.linalg.nosuch(X)", "np.linalg has no function 'nosuch'", 0),
    ("x.frobnicate()", "no method 'frobnicate'", 0),
    ("np.fft.fft(x)", "np.<name>", 0),
    ("x.shape", "x.shape[0]", 0),
    ("sum(x) + X.shape[2]", "out of range", 9),
    ("len(sum(x))", "scalar", 0),
    ("X.foo", "'.foo'", 0),
    ("sum(x, 0, True, 1)", "takes 1 or 2", 0),
]


@pytest.mark.parametrize("source, words, column", REJECTED, ids=[s for s, _, _ in REJECTED])
def test_unsupported_forms_get_one_line_with_a_hint(source, words, column):
    with pytest.raises(GradcError) as caught:
        compiled(source)
    assert words in caught.value.message, caught.value.message
    assert caught.value.column == column
    assert "\n" not in caught.value.message


def test_e_stays_a_name_for_an_input_while_np_e_is_the_constant():
    fn = gradc.compile("e * np.e")
    assert fn.inputs == ("e",)
    assert fn.forward(e=2.0) == pytest.approx(2 * math.e)


def test_a_name_that_is_both_an_input_and_a_dimension_is_an_error_that_says_so():
    with pytest.raises(GradcError, match="both an input and a dimension"):
        gradc.compile("sum(X) * n", shapes={"X": ("n", "d"), "n": ()})


@pytest.mark.parametrize("typo, meant", [("sigmod", "sigmoid"), ("exq", "exp"), ("cumsom", "cumsum"),
                                         ("sofmax", "softmax"), ("logsumexq", "logsumexp")])
def test_did_you_mean_proposes_near_typos(typo, meant):
    assert near_typo(typo, FUNCTIONS) == meant
    with pytest.raises(UnknownNameError, match=f"did you mean '{meant}'"):
        gradc.compile(f"{typo}(x)")


@pytest.mark.parametrize("word", ["einsum_of", "frobnicate", "summation", "variance"])
def test_did_you_mean_never_proposes_an_unrelated_name(word):
    assert near_typo(word, FUNCTIONS) is None


def test_an_unrelated_name_sharing_letters_is_no_typo():
    assert near_typo("einsum", {"sum", "mean"}) is None
    assert near_typo("cumsum", {"sum"}) is None


def test_a_misplaced_dimension_in_a_slice_is_still_a_shape_error():
    with pytest.raises(ShapeError):
        compiled("sum(X[::2])")


def test_a_complex_constant_is_refused_with_a_hint_under_its_column():
    with pytest.raises(ParseError, match="complex numbers are not supported.*two real inputs") as caught:
        gradc.compile("x + 2j")
    assert caught.value.caret().splitlines()[-1].index("^") == 4 + caught.value.caret().splitlines()[0].index("x")
