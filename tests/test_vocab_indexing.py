"""Constant basic indexing with NumPy's meaning: values and shapes against NumPy itself (its documentation's
examples from "Indexing on ndarrays"), gradients against differences, and the errors with their caret."""
import numpy as np
import pytest

import gradc
from helpers import assert_grad_matches

# (source index, operand shape): each compiled as sum(W * x[...]) and compared with NumPy on the same arrays.
CASES = [
    ("1", (10,)), ("-2", (10,)), ("2:7", (10,)), ("-3:3:-1", (10,)), ("5:", (10,)), ("1:7:2", (10,)),
    ("::-1", (10,)), ("1:", (4,)), (":, 0", (3, 4)), ("1:-1, ::2", (5, 6)), ("None, :", (4,)),
    ("np.newaxis, :, np.newaxis", (4,)), ("..., 0", (2, 3, 4)), ("0, ...", (2, 3, 4)), ("1:2, ..., None", (2, 3, 4)),
    ("1, 1:, ::-1", (2, 3, 4)), ("...", (2, 3)), ("-1", (2, 3)),
]


@pytest.mark.parametrize("text, shape", CASES)
def test_value_and_gradient_match_numpy(text, shape, rng):
    x = rng.standard_normal(shape)
    namespace = {"np": np, "x": x}
    expected = eval(f"x[{text}]", namespace)  # NumPy's own meaning of the same index
    fn = gradc.compile(f"sum(W * x[{text}])", shapes={"x": shape, "W": expected.shape})
    weights = rng.standard_normal(expected.shape)
    assert np.isclose(fn.forward(W=weights, x=x), np.sum(weights * expected), rtol=1e-13)
    grads = fn.grad(W=weights, x=x)
    assert_grad_matches(fn.forward, grads, {"W": weights, "x": x}, ["W", "x"], rng)


def test_numpy_doc_examples():
    # numpy.org "Indexing on ndarrays": x = np.arange(10); x[2] is 2, x[-2] is 8, x[1:7:2] is [1, 3, 5]
    fn = gradc.compile("x[2] + 10 * x[-2] + 100 * sum(x[1:7:2])", shapes={"x": (10,)})
    assert fn.forward(x=np.arange(10.0)) == 2 + 80 + 100 * 9
    # x[-3:3:-1] is [7, 6, 5, 4]; x[5:] is [5, 6, 7, 8, 9]
    fn = gradc.compile("sum(x[-3:3:-1] * w)", shapes={"x": (10,), "w": (4,)})
    assert fn.forward(x=np.arange(10.0), w=np.array([1.0, 10, 100, 1000])) == 7 + 60 + 500 + 4000
    # x = np.array([[[1], [2], [3]], [[4], [5], [6]]]); x[1:2] has shape (1, 3, 1); x[..., 0] is [[1, 2, 3], [4, 5, 6]]
    doc = np.array([[[1.0], [2], [3]], [[4], [5], [6]]])
    fn = gradc.compile("sum(x[..., 0] * w)", shapes={"x": (2, 3, 1), "w": (2, 3)})
    assert fn.forward(x=doc, w=np.arange(6.0).reshape(2, 3)) == np.sum(np.array([[1, 2, 3], [4, 5, 6]]) * np.arange(6.0).reshape(2, 3))
    # x[:, np.newaxis, :, :].shape is (2, 1, 3, 1)
    fn = gradc.compile("sum(x[:, np.newaxis, :, :] * w)", shapes={"x": (2, 3, 1), "w": (2, 1, 3, 1)})
    assert fn.forward(x=doc, w=np.ones((2, 1, 3, 1))) == 21


def test_symbolic_dimension_kept_whole():
    fn = gradc.compile("sum(W * X[::-1, 0])", shapes={"X": ("n", "d"), "W": ("n",)})
    X, W = np.arange(12.0).reshape(4, 3), np.arange(4.0)
    assert fn.forward(X=X, W=W) == np.sum(W * X[::-1, 0])
    grad = fn.grad(X=X, W=W)["X"]
    expected = np.zeros((4, 3))
    expected[::-1, 0] = W
    np.testing.assert_array_equal(grad, expected)


def test_adjoint_is_one_fresh_array_written_at_the_slice():
    fn = gradc.compile("sum(W * X[1:-1, ::2])", shapes={"X": (4, 6), "W": (2, 3)})
    assert "g_X = np.zeros((4, 6))" in fn.source and "g_X[1:-1, ::2] = W" in fn.source


@pytest.mark.parametrize("source, shapes, message, caret", [
    ("sum(x[1::2])", {"x": ("n",)}, "declare n as a number", "x[1::2]"),
    ("sum(x[7])", {"x": (3,)}, "index 7 is out of range", "x[7]"),
    ("sum(x[1, 2])", {"x": (3,)}, "2 indices for an array of shape (3,)", "x[1, 2]"),
    ("sum(x[x > 0])", {"x": ("n",)}, "use where(", "x > 0"),
    ("sum(x[y])", {"x": (3,), "y": (3,)}, "which does not hold integers: declare y an integer input", "y"),
    ("sum(x[1.5])", {"x": (3,)}, "expected an integer constant", "1.5"),
    ("sum(x[::0])", {"x": (3,)}, "step cannot be zero", "::0"),
    ("sum(x[..., ...])", {"x": (3,)}, "only one '...'", "x[..., ...]"),
])
def test_errors_name_the_construct_with_a_caret(source, shapes, message, caret):
    with pytest.raises(gradc.GradcError) as error:
        gradc.compile(source, shapes=shapes)
    text = str(error.value)
    assert message in text
    line = text.splitlines()[-2:]
    assert line[1].index("^") == line[0].index(caret)
