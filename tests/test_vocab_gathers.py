"""Integer inputs and gathers (gradc/ops/gathers.py, issue 12): NumPy's meaning from its docs, repeated indices
adding up in the adjoints, the cross-entropy people write against its closed form, the entry checks, the
declarations (gradc.Int, --shape labels=int:n, labels: int[n]) and the tools that draw or take values."""
import numpy as np
import pytest

import gradc
from gradc.backend.interpret import evaluate
from gradc.cli.arguments import parse_shapes
from gradc.cli.main import main
from gradc.gradcheck import random_point
from gradc.graph import Graph
from gradc.ops import Value, call
from gradc.transform.differentiate import differentiate


def test_take_means_numpy_take_from_its_documentation():
    # numpy.take's docs: a = [4, 3, 5, 7, 6, 8]; np.take(a, [0, 1, 4]) -> [4, 3, 6]
    graph = Graph()
    a, indices = Value(graph, graph.input("a", (6,))), Value(graph, graph.input("i", (3,)))
    out = call("take", a, indices, axis=0)
    graph.outputs = [out.node]
    values = evaluate(graph, {"a": np.array([4.0, 3, 5, 7, 6, 8]), "i": np.array([0, 1, 4])})
    np.testing.assert_array_equal(values[out.node], [4.0, 3.0, 6.0])


def test_repeated_indices_add_up_in_the_gradient():
    graph = Graph()
    x, labels = Value(graph, graph.input("x", (3,))), Value(graph, graph.input("labels", (4,)))
    weight = Value(graph, graph.input("W", (4,)))
    loss = call("sum", weight * call("take", x, labels, axis=0), axis=None, keepdims=False)
    graph.outputs = [loss.node]
    differentiate(graph, ["x"])
    W = np.array([1.0, 10.0, 100.0, 1000.0])
    grad = evaluate(graph, {"x": np.ones(3), "labels": np.array([2, 0, 2, 2]), "W": W})[graph.outputs[1]]
    np.testing.assert_array_equal(grad, [10.0, 0.0, 1101.0])  # a plain assignment would keep only 1000


def test_cross_entropy_of_integer_labels_matches_its_closed_form(rng):
    # -mean(log_softmax(Z)[i, labels[i]]): the gradient is (softmax(Z) - onehot(labels)) / n.
    n, c = 5, 3
    graph = Graph()
    Z, labels = Value(graph, graph.input("Z", (n, c))), Value(graph, graph.input("labels", (n,)))
    rows = call("log_softmax", Z, axis=1)
    picked = call("sum", rows * call("take", call("eye", shape=(c, c), like=Z), labels, axis=0), axis=None,
                  keepdims=False)
    graph.outputs = [(-picked / float(n)).node]
    differentiate(graph, ["Z"])
    Z_value, label_value = rng.standard_normal((n, c)), np.array([0, 2, 2, 1, 0])
    values = evaluate(graph, {"Z": Z_value, "labels": label_value})
    p = np.exp(Z_value) / np.exp(Z_value).sum(axis=1, keepdims=True)
    expected_loss = -np.mean(np.log(p)[np.arange(n), label_value])
    np.testing.assert_allclose(values[graph.outputs[0]], expected_loss, rtol=1e-12)
    np.testing.assert_allclose(values[graph.outputs[1]], (p - np.eye(c)[label_value]) / n, atol=1e-12)


# --- integer inputs and gathers in the language ---

CE_SHAPES = {"Z": ("n", "c"), "labels": gradc.Int("n")}


def _softmax(Z):
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_pairs_of_index_arrays_mean_numpys_from_its_indexing_docs():
    # NumPy's indexing guide: x = [[1, 2], [3, 4], [5, 6]]; x[[0, 1, 2], [0, 1, 0]] -> [1, 4, 5]
    fn = gradc.compile("sum(w * x[arange(n), labels])", shapes={"x": ("n", 2), "w": ("n",), "labels": gradc.Int("n")})
    x, labels = np.array([[1.0, 2], [3, 4], [5, 6]]), np.array([0, 1, 0])
    assert fn.forward(x=x, w=np.array([1.0, 10, 100]), labels=labels) == 1 + 40 + 500
    np.testing.assert_array_equal(fn.grad(x=x, w=np.ones(3), labels=labels)["x"], [[1, 0], [0, 1], [1, 0]])


def test_take_along_axis_means_numpys_from_its_docs():
    # numpy.take_along_axis's docs: a = [[10, 30, 20], [60, 40, 50]]; with ai = argsort(a, axis=1),
    # take_along_axis(a, ai, axis=1) -> [[10, 20, 30], [40, 50, 60]]
    fn = gradc.compile("sum(W * np.take_along_axis(a, ai, axis=1))",
                       shapes={"a": (2, 3), "W": (2, 3), "ai": gradc.Int(2, 3)})
    a = np.array([[10.0, 30, 20], [60, 40, 50]])
    W = np.array([[1.0, 10, 100], [1000, 1e4, 1e5]])
    assert fn.forward(a=a, W=W, ai=np.argsort(a, axis=1)) == 10 + 200 + 3000 + 40000 + 5e5 + 6e6


def test_take_means_numpys_from_its_docs():
    # numpy.take's docs: a = [4, 3, 5, 7, 6, 8]; np.take(a, [0, 1, 4]) -> [4, 3, 6]
    fn = gradc.compile("sum(w * np.take(a, indices))", shapes={"a": (6,), "w": (3,), "indices": gradc.Int(3)})
    a = np.array([4.0, 3, 5, 7, 6, 8])
    assert fn.forward(a=a, w=np.array([1.0, 10, 100]), indices=np.array([0, 1, 4])) == 4 + 30 + 600


@pytest.mark.parametrize("source", ["-mean(log_softmax(Z, axis=1)[arange(n), labels])",
                                    "-mean(np.take_along_axis(log_softmax(Z, axis=1), labels[:, None], axis=1))",
                                    "-sum(log(softmax(Z, axis=1))[np.arange(len(Z)), labels]) / n"])
def test_cross_entropy_as_people_write_it_matches_its_closed_form(source, rng):
    fn = gradc.compile(source, shapes=CE_SHAPES)
    assert fn.wrt == ("Z",)
    Z, labels = rng.standard_normal((6, 4)), np.array([3, 0, 3, 3, 1, 0])  # repeated labels
    value, grads = fn.value_and_grad(Z=Z, labels=labels)
    p = _softmax(Z)
    np.testing.assert_allclose(value, -np.mean(np.log(p[np.arange(6), labels])), rtol=1e-10)
    np.testing.assert_allclose(grads["Z"], (p - np.eye(4)[labels]) / 6, atol=1e-12)
    assert set(grads) == {"Z"}


def test_softmax_regression_loss_matches_its_closed_form(rng):
    fn = gradc.compile("-sum(log(softmax(X@W, axis=1))[arange(n), y])/n",
                       shapes={"X": ("n", "d"), "W": ("d", "c"), "y": gradc.Int("n")})
    X, W, y = rng.standard_normal((7, 3)), rng.standard_normal((3, 4)), np.array([1, 1, 0, 3, 2, 1, 1])
    grads = fn.grad(X=X, W=W, y=y)
    p = _softmax(X @ W)
    np.testing.assert_allclose(grads["W"], X.T @ (p - np.eye(4)[y]) / 7, atol=1e-12)
    np.testing.assert_allclose(grads["X"], (p - np.eye(4)[y]) @ W.T / 7, atol=1e-12)


def test_the_hessian_of_cross_entropy_is_the_softmax_covariance(rng):
    fn = gradc.compile("-mean(log_softmax(Z, axis=1)[arange(n), labels])", shapes=CE_SHAPES)
    Z, labels = rng.standard_normal((2, 3)), np.array([2, 2])
    H = np.asarray(fn.hessian(Z=Z, labels=labels)["Z"]["Z"]).reshape(6, 6)
    p = _softmax(Z)
    expected = np.zeros((6, 6))
    for i in range(2):
        expected[3 * i:3 * i + 3, 3 * i:3 * i + 3] = (np.diag(p[i]) - np.outer(p[i], p[i])) / 2
    np.testing.assert_allclose(H, expected, atol=1e-12)


@pytest.mark.parametrize("source, shapes, labels, expected", [
    ("sum(w * x[labels])", {"x": (3,), "w": (4,), "labels": gradc.Int(4)}, [2, 0, 2, 2], [10, 0, 1101]),
    ("sum(w * np.take(x, labels, axis=0))", {"x": (3,), "w": (4,), "labels": gradc.Int(4)}, [2, 0, 2, 2],
     [10, 0, 1101]),
    ("sum(w * np.take_along_axis(x, labels, axis=0))", {"x": (3,), "w": (4,), "labels": gradc.Int(4)}, [2, 0, 2, 2],
     [10, 0, 1101]),
])
def test_repeated_labels_add_up_in_the_compiled_gradient(source, shapes, labels, expected):
    fn = gradc.compile(source, shapes=shapes)
    grads = fn.grad(x=np.ones(3), w=np.array([1.0, 10, 100, 1000]), labels=np.array(labels))
    np.testing.assert_array_equal(grads["x"], expected)  # a plain assignment would keep 1000 alone


def test_rows_and_columns_gather_with_their_gradients(rng):
    fn = gradc.compile("sum(Z[labels] ** 2) + sum(Z[:, cols] ** 3)",
                       shapes={"Z": ("n", "c"), "labels": gradc.Int("m"), "cols": gradc.Int("k")})
    Z, labels, cols = rng.standard_normal((3, 4)), np.array([0, 2, 0, 0]), np.array([3, 3, 1])
    expected = np.zeros((3, 4))
    np.add.at(expected, labels, 2 * Z[labels])
    np.add.at(expected, (slice(None), cols), 3 * Z[:, cols] ** 2)
    value, grads = fn.value_and_grad(Z=Z, labels=labels, cols=cols)
    np.testing.assert_allclose(value, np.sum(Z[labels] ** 2) + np.sum(Z[:, cols] ** 3), rtol=1e-12)
    np.testing.assert_allclose(grads["Z"], expected, rtol=1e-12)


def test_the_generated_module_scatters_readably():
    text = gradc.compile("-mean(log_softmax(Z, axis=1)[arange(n), labels])", shapes=CE_SHAPES).source
    assert "[np.arange(n), labels]" in text and "labels: int (n,)" in text and "labels=int:n" in text


@pytest.mark.parametrize("labels, error, words", [
    (np.array([0.0, 1.0]), TypeError, "labels holds indices: it must be an array of integers, not float64"),
    (np.array([True, False]), TypeError, "not bool"),
    (np.array([0, 1, 2]), gradc.ShapeError, "labels has shape (3,)"),
    (np.array([0, 3]), IndexError, "labels holds indices from 0 to 3"),
    (np.array([-4, 0]), IndexError, "needs them in [-c, c) = [-3, 3)"),
])
def test_integer_inputs_are_checked_on_entry(labels, error, words):
    fn = gradc.compile("-mean(log_softmax(Z, axis=1)[arange(n), labels])", shapes=CE_SHAPES)
    with pytest.raises(error) as caught:
        fn.value_and_grad(Z=np.zeros((2, 3)), labels=labels)
    assert words in str(caught.value)


def test_negative_labels_count_from_the_end_as_in_numpy(rng):
    fn = gradc.compile("sum(w * x[labels])", shapes={"x": (3,), "w": (2,), "labels": gradc.Int(2)})
    x = rng.standard_normal(3)
    assert fn.forward(x=x, w=np.ones(2), labels=np.array([-1, -3])) == pytest.approx(x[2] + x[0], rel=1e-15)


def test_an_integer_input_has_no_gradient_to_ask_for():
    with pytest.raises(gradc.GradcError, match="'labels': it is an integer input"):
        gradc.compile("sum(x[labels])", wrt="labels", shapes={"x": ("d",), "labels": gradc.Int("m")})


def test_indexing_by_an_array_that_is_not_declared_integer_says_how_to_declare_it():
    with pytest.raises(gradc.ParseError, match=r"declare w an integer input: w: int\[n\]") as caught:
        gradc.compile("sum(x[w])", shapes={"x": ("d",), "w": ("m",)})
    assert caught.value.column == 6


@pytest.mark.parametrize("source, words", [
    ("sum(Z[arange(3), labels])", "must count the rows"),
    ("sum(Z[labels, cols])", "is not a gather gradc compiles"),
    ("sum(Z[labels, 0])", "is not a gather gradc compiles"),
])
def test_gathers_gradc_does_not_compile_say_what_it_does(source, words):
    with pytest.raises(gradc.GradcError, match=words):
        gradc.compile(source, shapes={"Z": ("n", "c"), "labels": gradc.Int("n"), "cols": gradc.Int("n")},
                     strict=False)


def test_integer_inputs_are_declared_in_python_the_command_line_and_the_source(rng):
    assert gradc.Int("n", 3) == ("n", 3) and repr(gradc.Int("n,3")) == "Int('n', 3)"
    assert isinstance(parse_shapes(["labels=int:n"])["labels"], gradc.Int)
    assert parse_shapes(["X=n,d"])["X"] == ("n", "d") and not isinstance(parse_shapes(["X=n,d"])["X"], gradc.Int)
    with pytest.raises(gradc.ShapeError, match="give its shape"):
        gradc.Int()
    fn = gradc.compile("labels: int[n]\nZ: (n, c)\n-mean(log_softmax(Z, axis=1)[arange(n), labels])")
    assert fn.wrt == ("Z",)
    Z = rng.standard_normal((3, 2))
    np.testing.assert_allclose(fn.forward(Z=Z, labels=np.array([1, 0, 1])),
                               -np.mean(np.log(_softmax(Z))[np.arange(3), [1, 0, 1]]), rtol=1e-12)


def test_an_integer_declaration_is_not_a_float_one_in_the_cache():
    source = "sum(x[labels])"
    assert gradc.compile(source, shapes={"x": ("d",), "labels": gradc.Int("m")}).wrt == ("x",)
    with pytest.raises(gradc.ParseError, match="does not hold integers"):
        gradc.compile(source, shapes={"x": ("d",), "labels": ("m",)})


def test_gradcheck_draws_indices_in_range():
    fn = gradc.compile("-mean(log_softmax(Z, axis=1)[arange(n), labels])", shapes=CE_SHAPES)
    for seed in range(20):
        point = random_point(fn, seed=seed)
        c = point["Z"].shape[1]
        assert point["labels"].dtype.kind == "i" and 0 <= point["labels"].min() and point["labels"].max() < c
        fn.value_and_grad(**point)


def test_pictures_mark_integer_inputs_and_take_their_values():
    fn = gradc.compile("-mean(log_softmax(Z, axis=1)[arange(n), labels])", shapes=CE_SHAPES)
    picture = fn.render(at={"Z": np.zeros((2, 3)), "labels": [0, 2]})
    assert "int n" in picture.source
    with pytest.raises(gradc.GradcError, match="the value of labels holds indices"):
        fn.render(at={"Z": np.zeros((2, 3)), "labels": [0.5, 2]})


def test_the_command_line_compiles_and_checks_with_integer_labels(capsys):
    source = "-mean(log_softmax(Z, axis=1)[arange(n), labels])"
    assert main(["check", source, "--shape", "Z=n,c", "--shape", "labels=int:n", "--at", "labels=0,2,2"]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["compile", source, "--shape", "Z=n,c", "--shape", "labels=int:n"]) == 0
    assert "WRT = ('Z',)" in capsys.readouterr().out


def test_negative_and_repeated_labels_add_up_where_numpy_reads_them(rng):
    fn = gradc.compile("sum(w * x[labels]) + sum(v * np.take_along_axis(Z, cols, axis=1))",
                       shapes={"x": (3,), "w": (4,), "labels": gradc.Int(4), "Z": (2, 3), "v": (2, 2),
                               "cols": gradc.Int(2, 2)})
    w, v = np.array([1.0, 10, 100, 1000]), np.array([[1.0, 2], [3, 4]])
    grads = fn.grad(x=np.ones(3), w=w, labels=np.array([-1, 0, 2, -3]), Z=np.ones((2, 3)), v=v,
                    cols=np.array([[-1, 2], [0, 0]]))
    np.testing.assert_array_equal(grads["x"], [1010, 0, 101])
    np.testing.assert_array_equal(grads["Z"], [[0, 0, 3], [7, 0, 0]])


# NumPy's integer-array indexing by constant lists, with the shapes its docs give (the indexing guide's
# "combining advanced and basic indexing": an axis T[0, :, [1, 2]] picks comes first)
CONSTANT_LISTS = ["x[[0, 2]]", "x[[3, 0, 3, -1]]", "A[[0, 2]]", "A[:, [1, 1, 0]]", "A[[0, 1], [1, 2]]",
                  "A[[2], [1, 3]]", "A[0, [1, 3]]", "A[[1, 2], 0]", "T[0, :, [1, 2]]", "T[:, 0, [1, 2]]",
                  "T[[0, 1], :, 0]", "T[:, [0, 1], 1:3]", "T[None, :, [0, 1]]", "T[..., [0, 1]]", "T[0, ..., [0, 3]]"]
LIST_SHAPES = {"x": (5,), "A": (3, 4), "T": (2, 3, 4)}


@pytest.mark.parametrize("source", CONSTANT_LISTS)
def test_an_index_by_constant_lists_means_numpys_and_repeats_add_up(source, rng):
    name = source[0]
    arrays = {name: rng.normal(size=LIST_SHAPES[name])}
    fn = gradc.compile(source, shapes={name: LIST_SHAPES[name]})
    expected = eval(source, {}, arrays)  # the test's own constant text, run by NumPy for its meaning
    got = fn.forward(**arrays)
    assert np.shape(got) == expected.shape
    np.testing.assert_array_equal(got, expected)
    weights = rng.normal(size=expected.shape)
    loss = gradc.compile(f"sum(W * {source})", shapes={name: LIST_SHAPES[name], "W": expected.shape})
    _, grads = loss.value_and_grad(W=weights, **arrays)
    scattered = np.zeros(LIST_SHAPES[name])
    np.add.at(scattered, eval(source, {}, {name: _Key()}), weights)  # NumPy's own scatter-add of the index
    np.testing.assert_allclose(grads[name], scattered, rtol=1e-14)


class _Key:
    """`_Key()[index]` is the index itself: the source's subscript, as NumPy receives it."""

    def __getitem__(self, index):
        return index


@pytest.mark.parametrize("source, words", [
    ("A[[0, 5]]", "out of range"), ("x[[True, False]]", "is a boolean mask"), ("x[[]]", "empty index list"),
    ("A[[0, 1], [1, 2, 3]]", "lengths 2, 3, which do not broadcast"), ("x[[[0, 1]]]", "integer constant"),
])
def test_a_bad_index_list_is_a_clear_error(source, words):
    with pytest.raises(gradc.GradcError, match=words):
        gradc.compile(f"sum({source})", shapes=LIST_SHAPES, strict=False)
