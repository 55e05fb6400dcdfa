"""Shape functions with NumPy's meaning: the examples of NumPy's documentation, compiled from source."""
import numpy as np
import pytest

import gradc
from gradc.errors import ShapeError
from gradc.frontend.parse import parse
from gradc.shapes import quotient, reshaped
from helpers import assert_grad_matches


def test_flip_follows_numpys_documentation():
    # numpy.flip's examples: A = np.arange(8).reshape((2, 2, 2))
    A = np.arange(8.0).reshape((2, 2, 2))
    for source, expected in [("flip(A, 0)", np.flip(A, 0)), ("flip(A, axis=1)", np.flip(A, 1)),
                             ("np.flip(A)", A[::-1, ::-1, ::-1]), ("flip(A, (0, 2))", np.flip(A, (0, 2)))]:
        fn = gradc.compile(f"sum(W * {source})", shapes={"A": (2, 2, 2), "W": (2, 2, 2)})
        W = np.arange(1.0, 9.0).reshape((2, 2, 2))
        assert fn.forward(A=A, W=W) == pytest.approx(np.sum(W * expected))
        np.testing.assert_allclose(fn.grad(A=A, W=W)["A"], np.flip(W, None) if source == "np.flip(A)"
                                   else np.flip(W, {"flip(A, 0)": 0, "flip(A, axis=1)": 1}.get(source, (0, 2))))


def test_flip_of_a_vector_reads_as_a_reversed_slice():
    fn = gradc.compile("x @ flip(x)", shapes={"x": ("n",)})
    assert "x[::-1]" in fn.source
    x = np.array([1.0, 2.0, 3.0])
    assert fn.forward(x=x) == 1 * 3 + 2 * 2 + 3 * 1
    np.testing.assert_allclose(fn.grad(x=x)["x"], 2 * x[::-1])


def test_flip_axis_out_of_range_is_a_shape_error():
    with pytest.raises(ShapeError, match="flip: axis 2"):
        gradc.compile("sum(flip(X, axis=2))", shapes={"X": ("n", "d")})


def adjoint(f, W, shape):
    """The gradient of sum(W * f(x)) for a linear f, one basis array at a time: an independent referee."""
    grad = np.zeros(shape)
    for index in np.ndindex(*shape):
        basis = np.zeros(shape)
        basis[index] = 1.0
        grad[index] = np.sum(W * f(basis))
    return grad


def check(source, x, expected, reference, names=None):
    """`sum(W * source)` compiled with x's shape (or `names`): its value NumPy's example, its gradient the adjoint."""
    out = np.asarray(expected, dtype=float)
    assert np.asarray(reference(x)).shape == out.shape
    np.testing.assert_array_equal(reference(x), out)  # the documented result is what NumPy gives
    W = np.random.default_rng(0).standard_normal(out.shape)
    shapes = {"x": names or np.shape(x)}
    graph = parse(source, {"x": shapes["x"]})
    shapes["W"] = graph.shape(graph.outputs[0])  # the result's shape, in the names x was given
    fn = gradc.compile(f"sum(W * {source})", shapes={k: v for k, v in shapes.items() if v})
    arrays = {"x": np.asarray(x, dtype=float), "W": W}
    assert fn.forward(**arrays) == pytest.approx(np.sum(W * out), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(fn.grad(**arrays)["x"], adjoint(reference, W, np.shape(x)), rtol=1e-12, atol=1e-12)
    return fn


EXPAND_X = np.array([1.0, 2.0])
SQUEEZE_X = np.array([[[0.0], [1.0], [2.0]]])  # shape (1, 3, 1)


@pytest.mark.parametrize("source, expected, reference", [
    ("expand_dims(x, axis=0)", [[1, 2]], lambda x: np.expand_dims(x, axis=0)),
    ("np.expand_dims(x, axis=1)", [[1], [2]], lambda x: np.expand_dims(x, axis=1)),
    ("expand_dims(x, axis=(0, 1))", [[[1, 2]]], lambda x: np.expand_dims(x, axis=(0, 1))),
    ("expand_dims(x, axis=(2, 0))", [[[1], [2]]], lambda x: np.expand_dims(x, axis=(2, 0))),
    ("expand_dims(x, -1)", [[1], [2]], lambda x: np.expand_dims(x, -1)),
])
def test_expand_dims_follows_numpys_documentation(source, expected, reference):
    check(source, EXPAND_X, expected, reference)
    check(source, EXPAND_X, expected, reference, names=("n",))


@pytest.mark.parametrize("source, expected, reference", [
    ("np.squeeze(x)", [0, 1, 2], np.squeeze),
    ("np.squeeze(x, axis=0)", [[0], [1], [2]], lambda x: np.squeeze(x, axis=0)),
    ("np.squeeze(x, axis=2)", [[0, 1, 2]], lambda x: np.squeeze(x, axis=2)),
    ("x.squeeze()", [0, 1, 2], np.squeeze),
    ("squeeze(x, -1)", [[0, 1, 2]], lambda x: np.squeeze(x, -1)),
])
def test_squeeze_follows_numpys_documentation(source, expected, reference):
    check(source, SQUEEZE_X, expected, reference)
    check(source, SQUEEZE_X, expected, reference, names=(1, "n", 1))


def test_squeeze_of_an_axis_that_is_not_one_is_a_shape_error():
    # NumPy: np.squeeze(x, axis=1) raises ValueError for x of shape (1, 3, 1)
    with pytest.raises(ShapeError, match=r"squeeze: axis 1 of shape \(1, 3, 1\) has size 3, not 1"):
        gradc.compile("sum(squeeze(x, axis=1))", shapes={"x": (1, 3, 1)})
    with pytest.raises(ShapeError, match="has size n, not 1"):
        gradc.compile("sum(squeeze(X, 0))", shapes={"X": ("n", 1)})


def test_squeeze_keeps_a_named_dimension():
    # NOTE: a named dimension is never dropped by squeeze(x) (its size is known only at run time), even if it is 1
    fn = gradc.compile("sum(squeeze(X) * v)", shapes={"X": ("n", 1), "v": ("n",)})
    X, v = np.ones((1, 1)), np.array([2.0])
    assert fn.forward(X=X, v=v) == 2.0
    np.testing.assert_array_equal(fn.grad(X=X, v=v)["X"], [[2.0]])


A = np.array([[1.0, 2.0], [3.0, 4.0]])
ONES_123 = np.arange(6.0).reshape((1, 2, 3))
A2345 = np.arange(120.0).reshape((2, 3, 4, 5))


@pytest.mark.parametrize("source, x, reference", [
    ("x.transpose()", A, lambda x: x.transpose()),
    ("np.transpose(x)", A, np.transpose),
    ("np.transpose(x, (1, 0, 2))", ONES_123, lambda x: np.transpose(x, (1, 0, 2))),
    ("np.transpose(x)", A2345, np.transpose),
    ("np.transpose(x, (-1, 0, -2, 1))", A2345, lambda x: np.transpose(x, (-1, 0, -2, 1))),
    ("x.transpose(1, 0, 2)", ONES_123, lambda x: x.transpose(1, 0, 2)),
    ("x.transpose((2, 0, 1))", ONES_123, lambda x: x.transpose((2, 0, 1))),
    ("transpose(x, axes=[0, 2, 1])", ONES_123, lambda x: np.transpose(x, [0, 2, 1])),
])
def test_transpose_follows_numpys_documentation(source, x, reference):
    fn = check(source, x, reference(x), reference)
    check(source, x, reference(x), reference, names=tuple("abcd"[:x.ndim]))
    if x.ndim == 2:
        assert ".T" in fn.source


def test_transpose_axes_must_be_a_permutation():
    with pytest.raises(ShapeError, match=r"transpose: axes \(0, 0, 1\) are not a permutation"):
        gradc.compile("sum(transpose(X, (0, 0, 1)))", shapes={"X": ("n", "d", "k")})
    with pytest.raises(ShapeError, match="not a permutation"):
        gradc.compile("sum(X.transpose(1, 0))", shapes={"X": ("n", "d", "k")})


def test_transposes_compose_into_one():
    fn = gradc.compile("sum(W * transpose(transpose(X, (1, 2, 0)), (1, 2, 0)))",
                       shapes={"X": ("n", "d", "k"), "W": ("k", "n", "d")})
    assert "np.transpose(X, (2, 0, 1))" in fn.source and "np.transpose(np.transpose" not in fn.source
    X = np.arange(24.0).reshape((2, 3, 4))
    W = np.random.default_rng(1).standard_normal((4, 2, 3))
    assert fn.forward(X=X, W=W) == pytest.approx(np.sum(W * X.transpose(1, 2, 0).transpose(1, 2, 0)))
    np.testing.assert_array_equal(fn.grad(X=X, W=W)["X"], W.transpose(1, 2, 0))


SWAP_X = np.array([[1.0, 2.0, 3.0]])
SWAP_3D = np.arange(8.0).reshape((2, 2, 2))


@pytest.mark.parametrize("source, x, expected, reference", [
    ("np.swapaxes(x, 0, 1)", SWAP_X, [[1], [2], [3]], lambda x: np.swapaxes(x, 0, 1)),
    ("np.swapaxes(x, 0, 2)", SWAP_3D, [[[0, 4], [2, 6]], [[1, 5], [3, 7]]], lambda x: np.swapaxes(x, 0, 2)),
    ("x.swapaxes(-1, 0)", SWAP_3D, [[[0, 4], [2, 6]], [[1, 5], [3, 7]]], lambda x: x.swapaxes(-1, 0)),
    ("swapaxes(x, axis1=1, axis2=2)", SWAP_3D, np.swapaxes(SWAP_3D, 1, 2), lambda x: np.swapaxes(x, 1, 2)),
])
def test_swapaxes_follows_numpys_documentation(source, x, expected, reference):
    check(source, x, expected, reference)


MOVE_X = np.arange(60.0).reshape((3, 4, 5))


@pytest.mark.parametrize("source, shape, reference", [
    ("np.moveaxis(x, 0, -1)", (4, 5, 3), lambda x: np.moveaxis(x, 0, -1)),
    ("np.moveaxis(x, -1, 0)", (5, 3, 4), lambda x: np.moveaxis(x, -1, 0)),
    ("np.moveaxis(x, [0, 1], [-1, -2])", (5, 4, 3), lambda x: np.moveaxis(x, [0, 1], [-1, -2])),
    ("moveaxis(x, source=(0, 2), destination=(1, 0))", (5, 3, 4), lambda x: np.moveaxis(x, (0, 2), (1, 0))),
])
def test_moveaxis_follows_numpys_documentation(source, shape, reference):
    assert reference(MOVE_X).shape == shape
    check(source, MOVE_X, reference(MOVE_X), reference)
    check(source, MOVE_X, reference(MOVE_X), reference, names=("n", "d", "k"))


def test_moveaxis_and_swapaxes_refuse_axes_out_of_range():
    with pytest.raises(ShapeError, match="moveaxis: source 3 is out of range"):
        gradc.compile("sum(moveaxis(X, 3, 0))", shapes={"X": ("n", "d", "k")})
    with pytest.raises(ShapeError, match="must name as many axes"):
        gradc.compile("sum(moveaxis(X, (0, 1), 0))", shapes={"X": ("n", "d", "k")})
    with pytest.raises(ShapeError, match="swapaxes: axis2 2 is out of range"):
        gradc.compile("sum(swapaxes(X, 0, 2))", shapes={"X": ("n", "d")})


ROLL_X = np.arange(10.0)
ROLL_X2 = np.reshape(ROLL_X, (2, 5))


@pytest.mark.parametrize("source, x, expected, reference", [
    ("np.roll(x, 2)", ROLL_X, [8, 9, 0, 1, 2, 3, 4, 5, 6, 7], lambda x: np.roll(x, 2)),
    ("np.roll(x, -2)", ROLL_X, [2, 3, 4, 5, 6, 7, 8, 9, 0, 1], lambda x: np.roll(x, -2)),
    ("np.roll(x, 1)", ROLL_X2, [[9, 0, 1, 2, 3], [4, 5, 6, 7, 8]], lambda x: np.roll(x, 1)),
    ("np.roll(x, -1)", ROLL_X2, [[1, 2, 3, 4, 5], [6, 7, 8, 9, 0]], lambda x: np.roll(x, -1)),
    ("np.roll(x, 1, axis=0)", ROLL_X2, [[5, 6, 7, 8, 9], [0, 1, 2, 3, 4]], lambda x: np.roll(x, 1, axis=0)),
    ("np.roll(x, -1, axis=0)", ROLL_X2, [[5, 6, 7, 8, 9], [0, 1, 2, 3, 4]], lambda x: np.roll(x, -1, axis=0)),
    ("np.roll(x, 1, axis=1)", ROLL_X2, [[4, 0, 1, 2, 3], [9, 5, 6, 7, 8]], lambda x: np.roll(x, 1, axis=1)),
    ("np.roll(x, -1, axis=1)", ROLL_X2, [[1, 2, 3, 4, 0], [6, 7, 8, 9, 5]], lambda x: np.roll(x, -1, axis=1)),
    ("np.roll(x, (1, 1), axis=(1, 0))", ROLL_X2, [[9, 5, 6, 7, 8], [4, 0, 1, 2, 3]],
     lambda x: np.roll(x, (1, 1), axis=(1, 0))),
    ("np.roll(x, (2, 1), axis=(1, 0))", ROLL_X2, [[8, 9, 5, 6, 7], [3, 4, 0, 1, 2]],
     lambda x: np.roll(x, (2, 1), axis=(1, 0))),
    ("roll(x, shift=12)", ROLL_X, np.roll(ROLL_X, 12), lambda x: np.roll(x, 12)),  # more than the length
])
def test_roll_follows_numpys_documentation(source, x, expected, reference):
    check(source, x, expected, reference)
    check(source, x, expected, reference, names=("n", "d")[:x.ndim])


def test_rolled_difference_smoothness_penalty():
    # a total-variation-like penalty on a periodic signal: sum((x - roll(x, 1))**2)
    fn = gradc.compile("sum((x - roll(x, 1))**2)", shapes={"x": ("n",)})
    x = np.array([0.5, -1.0, 2.0, 0.25, 3.0])
    d = x - np.roll(x, 1)
    assert fn.forward(x=x) == pytest.approx(np.sum(d ** 2))
    np.testing.assert_allclose(fn.grad(x=x)["x"], 2 * d - 2 * np.roll(d, -1), rtol=1e-12)  # closed form
    assert "np.roll(" in fn.source


@pytest.mark.parametrize("source, x, expected, reference", [
    ("np.repeat(x, 4)", 3.0, [3, 3, 3, 3], lambda x: np.repeat(x, 4)),
    ("np.repeat(x, 2)", A, [1, 1, 2, 2, 3, 3, 4, 4], lambda x: np.repeat(x, 2)),
    ("np.repeat(x, 3, axis=1)", A, [[1, 1, 1, 2, 2, 2], [3, 3, 3, 4, 4, 4]], lambda x: np.repeat(x, 3, axis=1)),
    ("x.repeat(2, axis=0)", A, [[1, 2], [1, 2], [3, 4], [3, 4]], lambda x: x.repeat(2, axis=0)),
    ("repeat(x, repeats=2, axis=-1)", A, [[1, 1, 2, 2], [3, 3, 4, 4]], lambda x: np.repeat(x, 2, axis=-1)),
    ("np.repeat(x, [1, 2], axis=0)", A, [[1, 2], [3, 4], [3, 4]], lambda x: np.repeat(x, [1, 2], axis=0)),
])
def test_repeat_follows_numpys_documentation(source, x, expected, reference):
    check(source, x, expected, reference)


def test_repeat_along_a_named_axis_keeps_the_others_named():
    fn = check("repeat(x, 3, axis=1)", A, np.repeat(A, 3, axis=1), lambda x: np.repeat(x, 3, axis=1), names=("n", 2))
    assert ".sum(axis=2)" in fn.source  # each run of copies on an axis of its own, summed


# one count per element along the axis (one count stands for all; axis None flattens first)
REPEAT_EACH = [
    ("repeat(x, [2, 0, 1])", (3,), lambda x: np.repeat(x, [2, 0, 1])),
    ("np.repeat(x, (1, 2, 3), axis=0)", (3,), lambda x: np.repeat(x, (1, 2, 3), axis=0)),
    ("repeat(x, [1, 0, 2], axis=1)", (2, 3), lambda x: np.repeat(x, [1, 0, 2], axis=1)),
    ("x.repeat([0, 3], axis=-2)", (2, 3), lambda x: x.repeat([0, 3], axis=-2)),
    ("repeat(x, [1, 0, 2, 1, 0, 1])", (2, 3), lambda x: np.repeat(x, [1, 0, 2, 1, 0, 1])),
    ("repeat(x, repeats=[2, 1], axis=-1)", (2, 3, 2), lambda x: np.repeat(x, [2, 1], axis=-1)),
    ("repeat(x, [3], axis=1)", (2, 3), lambda x: np.repeat(x, [3], axis=1)),
    ("repeat(x, [2])", (2, 3), lambda x: np.repeat(x, [2])),
    ("repeat(x, [3])", (), lambda x: np.repeat(x, [3])),
]


@pytest.mark.parametrize("source, shape, reference", REPEAT_EACH)
def test_repeat_with_a_count_per_element_matches_numpy(source, shape, reference, rng):
    x = rng.standard_normal(shape)
    out = reference(x)
    fn = gradc.compile(f"sum(W * {source})", shapes={"x": shape, "W": out.shape})
    np.testing.assert_array_equal(gradc.compile(source, shapes={"x": shape}).forward(x=x), out)
    arrays = {"x": x if shape else float(x), "W": rng.standard_normal(out.shape)}
    assert fn.forward(**arrays) == pytest.approx(np.sum(arrays["W"] * out), rel=1e-12)
    assert_grad_matches(fn.forward, fn.grad(**arrays), arrays, ["x", "W"], rng)


def test_repeat_with_counts_adds_the_copies_gradients_up():
    # a constant gather x[[0, 0, 2]]: the adjoint scatters back as np.add.at does
    fn = gradc.compile("sum(W * repeat(x, [2, 0, 1]))", shapes={"x": (3,), "W": (3,)})
    W = np.array([1.0, 10.0, 100.0])
    expected = np.zeros(3)
    np.add.at(expected, [0, 0, 2], W)
    np.testing.assert_array_equal(fn.grad(x=np.ones(3), W=W)["x"], expected)


def test_repeat_with_zero_counts_everywhere_empties_the_axis():
    fn = gradc.compile("repeat(X, [0, 0, 0], axis=1)", shapes={"X": (2, 3)})
    assert fn.forward(X=np.ones((2, 3))).shape == (2, 0)


def test_repeat_with_counts_keeps_the_other_axes_named():
    graph = parse("repeat(X, [1, 2], axis=1)", {"X": ("n", 2)})
    assert graph.shape(graph.outputs[0]) == ("n", 3)


@pytest.mark.parametrize("source, shape, message", [
    ("repeat(x, [2, -1, 1])", (3,), r"repeats must not be negative, got \[2, -1, 1\]"),
    ("repeat(x, -2)", (3,), "repeats must not be negative, got -2"),
    ("repeat(x, [2, 1])", (3,), r"repeat: 2 counts for the 3 elements along axis 0 of shape \(3,\): give one "
                                "count per element, or one for all"),
    ("repeat(X, [2, 1, 1, 0], axis=0)", (2, 2), "repeat: 4 counts for the 2 elements along axis 0"),
    ("repeat(X, [1, 2], axis=2)", (2, 2), r"repeat: axis 2 is not an axis of shape \(2, 2\)"),
    ("repeat(X, [2, 1], axis=1)", (3, "d"), r"need the length along axis 1 of shape \(3, d\) to be the number 2: "
                                            r"declare it so, or write the gather they stand for, X\[:, \[0, 0, 1\]\]"),
    ("(X * 2).repeat([0, 1])", ("n",), r"or write the gather they stand for, \(X \* 2\)\[\[1\]\]"),
    ("repeat(X, [1, 1])", ("n", 1), r"shape \(n,\) .* stand for, ravel\(X\)\[\[0, 1\]\]"),
])
def test_repeat_with_counts_it_cannot_follow_is_a_shape_error(source, shape, message):
    with pytest.raises(ShapeError, match=message) as caught:
        gradc.compile(f"sum({source})", shapes={"x" if source.startswith("repeat(x") else "X": shape})
    assert isinstance(caught.value, gradc.GradcError) and "^" in str(caught.value)


TILE_A = np.array([0.0, 1.0, 2.0])
TILE_B = np.array([[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize("source, x, expected, reference", [
    ("np.tile(x, 2)", TILE_A, [0, 1, 2, 0, 1, 2], lambda x: np.tile(x, 2)),
    ("np.tile(x, (2, 2))", TILE_A, [[0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 2]], lambda x: np.tile(x, (2, 2))),
    ("np.tile(x, (2, 1, 2))", TILE_A, [[[0, 1, 2, 0, 1, 2]], [[0, 1, 2, 0, 1, 2]]], lambda x: np.tile(x, (2, 1, 2))),
    ("np.tile(x, 2)", TILE_B, [[1, 2, 1, 2], [3, 4, 3, 4]], lambda x: np.tile(x, 2)),
    ("np.tile(x, (2, 1))", TILE_B, [[1, 2], [3, 4], [1, 2], [3, 4]], lambda x: np.tile(x, (2, 1))),
    ("np.tile(x, (4, 1))", np.array([1.0, 2.0, 3.0, 4.0]), [[1, 2, 3, 4]] * 4, lambda x: np.tile(x, (4, 1))),
])
def test_tile_follows_numpys_documentation(source, x, expected, reference):
    check(source, x, expected, reference)


def test_tile_of_new_leading_axes_keeps_a_named_dimension():
    fn = check("tile(x, (3, 1))", TILE_A, np.tile(TILE_A, (3, 1)), lambda x: np.tile(x, (3, 1)), names=("n",))
    assert ".sum(axis=0)" in fn.source


RESHAPE_A = np.arange(6.0).reshape((3, 2))  # numpy.reshape's example: a = np.arange(6).reshape((3, 2))


@pytest.mark.parametrize("source, expected, reference", [
    ("np.reshape(x, (2, 3))", [[0, 1, 2], [3, 4, 5]], lambda x: np.reshape(x, (2, 3))),
    ("np.reshape(x, (3, -1))", [[0, 1], [2, 3], [4, 5]], lambda x: np.reshape(x, (3, -1))),
    ("x.reshape(-1)", [0, 1, 2, 3, 4, 5], lambda x: x.reshape(-1)),
    ("x.reshape(2, 3)", [[0, 1, 2], [3, 4, 5]], lambda x: x.reshape(2, 3)),
    ("reshape(x, shape=6)", [0, 1, 2, 3, 4, 5], lambda x: np.reshape(x, 6)),
    ("np.ravel(x)", [0, 1, 2, 3, 4, 5], np.ravel),
    ("x.ravel()", [0, 1, 2, 3, 4, 5], np.ravel),
    ("x.flatten()", [0, 1, 2, 3, 4, 5], lambda x: x.flatten()),
    ("x.T.reshape(6)", [0, 2, 4, 1, 3, 5], lambda x: x.T.reshape(6)),  # row-major order of the transposed view
])
def test_reshape_and_ravel_follow_numpys_documentation(source, expected, reference):
    check(source, RESHAPE_A, expected, reference)


@pytest.mark.parametrize("source, shape", [
    ("reshape(x, (n*d,))", ("d*n",)), ("x.reshape(n, d)", ("n", "d")), ("x.reshape(-1)", ("d*n",)),
    ("x.reshape(d, n)", ("d", "n")), ("x.reshape(d*n, 1)", ("d*n", 1)), ("x.reshape(-1, d)", ("n", "d")),
    ("ravel(x)", ("d*n",)), ("x.flatten()", ("d*n",)), ("x.reshape(x.shape)", ("n", "d")),
    ("x.reshape(x.shape[1], len(x))", ("d", "n")), ("x.reshape(1, n, 1, d)", (1, "n", 1, "d")),
])
def test_reshape_with_symbolic_sizes(source, shape):
    graph = parse(source, {"x": ("n", "d")})
    assert graph.shape(graph.outputs[0]) == shape
    X = np.arange(12.0).reshape((3, 4))
    fn = gradc.compile(f"sum({source} ** 3)", shapes={"x": ("n", "d")})
    expected = eval(source, {"reshape": np.reshape, "ravel": np.ravel, "n": 3, "d": 4, "x": X})  # noqa: S307
    assert fn.forward(x=X) == pytest.approx(np.sum(expected ** 3))
    np.testing.assert_allclose(fn.grad(x=X)["x"], 3 * X ** 2, rtol=1e-12)  # a view: the gradient keeps its place
    assert "reshape(" in fn.source or "ravel()" in fn.source


def test_reshape_of_three_names_infers_the_product():
    graph = parse("X.reshape(-1, k)", {"X": ("n", "d", "k")})
    assert graph.shape(graph.outputs[0]) == ("d*n", "k")
    graph = parse("X.reshape(n*d*k)", {"X": ("n", "d", "k")})
    assert graph.shape(graph.outputs[0]) == ("d*k*n",)
    graph = parse("repeat(x, 3).reshape(-1, 3)", {"x": ("n",)})
    assert graph.shape(graph.outputs[0]) == ("n", 3)


@pytest.mark.parametrize("source, message", [
    ("reshape(X, (n,))", r"reshape: shape \(n, d\) has d\*n elements and \(n,\) has n"),
    ("X.reshape(2, -1)", r"cannot infer the -1 in \(2, -1\) for shape \(n, d\)"),
    ("X.reshape(-1, -1)", "at most one is -1"),
    ("X.reshape(n + d)", r"reshape: shape \(n, d\) has d\*n elements and \(d \+ n,\) has d \+ n"),
])
def test_reshape_to_a_different_size_is_a_shape_error(source, message):
    with pytest.raises(ShapeError, match=message):
        gradc.compile(f"sum({source})", shapes={"X": ("n", "d")})


@pytest.mark.parametrize("source", ["X.reshape(k)", "X.reshape(X.size)", "reshape(X, (k, 2))",
                                    "X.reshape(-1 * n)", "X.reshape(n, -2)"])
def test_reshape_with_a_shape_computed_at_run_time_has_a_hint(source):
    with pytest.raises(gradc.errors.ParseError, match="non-negative|a shape is made of"):
        gradc.compile(f"sum({source}) * k", shapes={"X": ("n", "d")})


def test_a_shape_may_add_and_subtract_dimensions(rng):
    """(n + m,) is the length of a join of n and m, (n - 1,) that of x[1:]: both agree with what they meet."""
    fn = gradc.compile("z = concatenate((x, y)); sum(reshape(z, (n + m,)) * ones((n + m,))) + "
                       "sum(concatenate((zeros((n - 1,)), x[1:])) * concatenate((x[1:], x[1:])))",
                       shapes={"x": ("n",), "y": ("m",)})
    x, y = rng.normal(size=4), rng.normal(size=3)
    value, grads = fn.value_and_grad(x=x, y=y)
    np.testing.assert_allclose(value, x.sum() + y.sum() + (x[1:] * x[1:]).sum(), rtol=1e-13)
    np.testing.assert_allclose(grads["x"], 1 + np.r_[0.0, 2 * x[1:]], rtol=1e-13)
    np.testing.assert_allclose(grads["y"], np.ones(3), rtol=1e-13)


def test_a_length_below_zero_is_refused_on_entry_as_a_slice_past_the_end_is():
    fn = gradc.compile("sum(x) + sum(ones((n - 5,)))", shapes={"x": ("n",)})
    assert fn(x=np.ones(7)) == 9.0
    with pytest.raises(ShapeError, match=r"x has shape \(3,\); ones\(\(n - 5,\)\) needs n >= 5"):
        fn(x=np.ones(3))


def test_a_patches_loss_through_reshape():
    # non-overlapping 2-sample patches of a signal, each scored against a filter: no convolution op needed
    fn = gradc.compile("P = x.reshape(-1, 2); sum(log(1 + exp(-(P @ w))))", shapes={"x": (8,), "w": (2,)})
    x = np.linspace(-1.0, 1.5, 8)
    w = np.array([0.5, -2.0])
    P = x.reshape(4, 2)
    margin = 1 / (1 + np.exp(P @ w))  # d/dz log(1 + exp(-z)) = -sigmoid(-z)
    assert fn.forward(x=x, w=w) == pytest.approx(np.sum(np.log1p(np.exp(-(P @ w)))))
    grads = fn.grad(x=x, w=w)
    np.testing.assert_allclose(grads["w"], -(margin @ P), rtol=1e-12)
    np.testing.assert_allclose(grads["x"], -np.outer(margin, w).ravel(), rtol=1e-12)
    with pytest.raises(ShapeError, match="not a known multiple of 2"):  # n samples need not pair up
        gradc.compile("sum(x.reshape(-1, 2) @ w)", shapes={"x": ("n",), "w": (2,)})


def test_repeat_and_tile_of_named_dimensions_give_products():
    graph = parse("repeat(x, 3)", {"x": ("n",)})
    assert graph.shape(graph.outputs[0]) == ("3*n",)
    graph = parse("tile(X, (2, 1, 3))", {"X": ("n", "d")})
    assert graph.shape(graph.outputs[0]) == (2, "n", "3*d")
    graph = parse("repeat(X, 2)", {"X": ("n", "d")})
    assert graph.shape(graph.outputs[0]) == ("2*d*n",)
    fn = gradc.compile("sum(repeat(x, 3) * tile(y, 3))", shapes={"x": ("n",), "y": ("n",)})
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    assert fn.forward(x=x, y=y) == pytest.approx(np.sum(np.repeat(x, 3) * np.tile(y, 3)))
    grads = fn.grad(x=x, y=y)
    np.testing.assert_allclose(grads["x"], np.tile(y, 3).reshape(2, 3).sum(axis=1))
    np.testing.assert_allclose(grads["y"], np.repeat(x, 3).reshape(3, 2).sum(axis=0))
    fn = gradc.compile("sum(repeat(X, 2, axis=0) ** 2) + sum(tile(X, (2, 2)) ** 2)", shapes={"X": ("n", "d")})
    X = np.arange(6.0).reshape((2, 3))
    np.testing.assert_allclose(fn.grad(X=X)["X"], 4 * X + 8 * X)


def test_a_product_dimension_is_checked_like_any_other():
    # repeat(x, 2) has 2*n elements, reshape(x, (n*2,)) too: one dimension however it is written
    fn = gradc.compile("sum(repeat(x, 2) * reshape(tile(x, (2, 1)).T, (n*2,)))", shapes={"x": ("n",)})
    x = np.array([1.0, 2.0, 3.0])
    assert fn.forward(x=x) == pytest.approx(np.sum(np.repeat(x, 2) * np.tile(x, (2, 1)).T.reshape(6)))
    np.testing.assert_allclose(fn.grad(x=x)["x"], 4 * x)
    with pytest.raises(ShapeError, match="do not broadcast"):
        gradc.compile("sum(repeat(x, 2) * repeat(x, 3))", shapes={"x": ("n",)})


@pytest.mark.parametrize("total, part, expected", [
    ("d*n", "n", "d"), ("6*d*n", "3*n", "2*d"), ("d*k*n", "d*k", "n"), ("n", 1, "n"), (12, 4, 3),
    ("d*n", "k", None), ("3*n", 2, None), ("n", "d*n", None), ("m + n", "m + n", 1), ("m + n", "n", None),
    ("2*d*n + 4*n", "2*n", "d + 2"), ("d*n", 0, None),
])
def test_exact_quotients_of_dimensions(total, part, expected):
    assert quotient(total, part) == expected


def test_reshaped_checks_sizes_whatever_the_names_are():
    assert reshaped(("n", "d"), ("d", "n")) == ("d", "n")  # the same count, d*n, though not the same shape
    assert reshaped(("n", 3, "d"), (-1, "d")) == ("3*n", "d")
    assert reshaped((), (1, -1)) == (1, 1)
    with pytest.raises(ShapeError, match=r"has n elements and \(m,\) has m"):
        reshaped(("n",), ("m",))


@pytest.mark.parametrize("source", ["sum(transpose(T, (2, 0, 1)))", "mean(T.transpose(1, 0, 2))",
                                    "sum(permute_dims(T, (1, 2, 0)) ** 2)", "max(transpose(T, (1, 0, 2)))"])
def test_a_permutation_summed_whole_differentiates(source, rng):
    """The sum's adjoint reaches transpose(T, axes) as a scalar standing for a broadcast one, which the
    inverse permutation leaves as it is (it raised a ShapeError: no permutation of a scalar's axes)."""
    from helpers import assert_grad_matches
    fn = gradc.compile(source, shapes={"T": ("n", "d", "k")})
    T = rng.uniform(0.5, 1.5, (2, 3, 4))
    assert_grad_matches(fn.forward, fn.value_and_grad(T=T)[1], {"T": T}, ["T"], rng)
