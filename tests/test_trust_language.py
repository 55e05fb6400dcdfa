"""The language keeps NumPy's and Python's meanings: reductions named max/min, identifiers Python folds
together, shapes given as strings, names the generated module needs, and sources at the edges.

Each test is a regression test of the trust issue; the values are NumPy's own.
"""
import ast
import builtins

import numpy as np
import pytest

import gradc
from gradc.errors import ParseError, ShapeError
from gradc.frontend.parse import RESERVED
from helpers import numeric_grad

X = np.array([[0.3, -1.2, 0.5, 2.0], [1.5, 0.1, -0.7, 0.2], [-0.4, 0.9, 1.1, -2.0]])


def check_gradient(fn, point):
    _, grad = fn.value_and_grad(**point)
    for name in fn.inputs:
        np.testing.assert_allclose(grad[name], numeric_grad(fn.forward, point, name), rtol=1e-6, atol=1e-7)


def test_np_max_with_a_positional_axis_is_numpys_reduction():
    def loss(X):
        return np.sum(np.max(X, 1))

    fn = gradc.compile(loss, shapes={"X": ("n", "d")})
    assert fn.forward(X=X) == pytest.approx(np.sum(np.max(X, 1)))
    grad = np.zeros_like(X)
    grad[np.arange(3), X.argmax(1)] = 1.0
    np.testing.assert_array_equal(fn.grad(X=X)["X"], grad)


@pytest.mark.parametrize("source, expected", [
    ("sum(np.max(X, axis=0))", np.sum(np.max(X, axis=0))),
    ("sum(np.amax(X, 1))", np.sum(np.amax(X, 1))),
    ("sum(np.min(X, 0))", np.sum(np.min(X, 0))),
    ("sum(amin(X, axis=-1))", np.sum(np.amin(X, axis=-1))),
    ("max(X)", np.max(X)),
    ("min(X)", np.min(X)),
    ("sum(np.max(X, axis=1, keepdims=True) * X)", np.sum(np.max(X, axis=1, keepdims=True) * X)),
    ("sum(max(X, 0.25))", np.sum(np.maximum(X, 0.25))),  # Python's max(a, b): the elementwise larger
    ("sum(min(X, -X))", np.sum(np.minimum(X, -X))),
    ("sum(np.sum(X, 1))", np.sum(X)),
    ("sum(np.mean(X, 1, keepdims=True) * X)", np.sum(np.mean(X, 1, keepdims=True) * X)),
])
def test_reductions_keep_numpys_meaning(source, expected):
    fn = gradc.compile(source, shapes={"X": ("n", "d")})
    assert fn.forward(X=X) == pytest.approx(expected, rel=1e-14)
    check_gradient(fn, {"X": X})


@pytest.mark.parametrize("source, words", [
    ("sum(max(X, 1))", "ambiguous"),  # NumPy's reduction or Python's max with 1: neither is guessed
    ("sum(np.max(X, X))", r"write maximum\(a, b\)"),
    ("sum(np.min(X, 2.0))", r"write minimum\(a, b\)"),
    ("sum(X, axis=0, axis=1)", "axis twice"),
    ("sum(X, 0, axis=1)", "axis twice"),
    ("sum(X, keepdims=1)", "True or False"),
    ("sum(np.max(X, 1, 2))", "1 or 2 arguments"),
])
def test_misread_reductions_are_errors(source, words):
    with pytest.raises(ParseError, match=words) as info:
        gradc.compile(source, shapes={"X": ("n", "d")})
    assert info.value.column is not None


def test_names_python_folds_together_are_one_name():
    # NFKC: the fullwidth n is n to Python, so in the generated module; gradc agrees.
    x, y = np.arange(4.0), np.arange(4.0) + 1
    fn = gradc.compile("mean(x) + sum(y)", shapes={"x": ("n",), "y": ("\uff4e",)})
    assert fn.forward(x=x, y=y) == pytest.approx(x.mean() + y.sum())
    assert fn.grad(x=x, y=y)["y"].shape == (4,)
    with pytest.raises(ShapeError):
        fn.forward(x=x, y=np.ones(3))  # one dimension n: the sizes must agree
    fn = gradc.compile("sum(\uff58 * \uff58)", shapes={"\uff58": "n"}, wrt=["\uff58"])
    assert fn.inputs == ("x",)
    np.testing.assert_array_equal(fn.grad(x=x)["x"], 2 * x)


def test_two_spellings_of_one_name_are_rejected():
    with pytest.raises(ShapeError, match="twice"):
        gradc.compile("x + 1", shapes={"x": "n", "\uff58": "n"})


@pytest.mark.parametrize("given, shape", [("n,d", ("n", "d")), ("dim", ("dim",)), (" n , 3 ", ("n", 3)),
                                          ("(n, d)", ("n", "d")), ("", ()), (5, (5,)), (["n", 2], ("n", 2))])
def test_a_string_shape_is_a_comma_list(given, shape):
    fn = gradc.compile("sum(w)", shapes={"w": given})
    assert fn.stages.parsed.shape(fn.stages.parsed.inputs["w"]) == shape


@pytest.mark.parametrize("dims, words", [
    ("lambda,d", "keyword"), (("None",), "keyword"), (("True",), "keyword"), ("if", "keyword"),
    ("_inputs", "underscore"), ("_DTYPE", "underscore"), ("_outer", "underscore"), ("_row_max", "underscore"),
    ("_t_matmul", "underscore"), ((10 ** 19,), "larger than any array"), ((10 ** 10, 10 ** 10), "more elements"),
    ("n,-1", "dimension"), (3.5, "invalid shape"), (None, "invalid shape"), ("max", "gradc's own"),
])
def test_dimensions_the_module_could_not_hold_are_errors(dims, words):
    with pytest.raises(ShapeError, match=words):
        gradc.compile("sum(x)", shapes={"x": dims})


@pytest.mark.parametrize("source, shapes", [("x", {"x": ("n",)}), ("X[0]", {"X": ("n", "d")}),
                                            ("X.T", {"X": ("n", "d")}), ("x * 1", {"x": ("n",)})])
def test_forward_returns_a_new_array(source, shapes):
    fn = gradc.compile(source, shapes=shapes)
    given = {name: np.ones((3,) * len(dims)) for name, dims in shapes.items()}
    result = fn.forward(**given)
    assert not any(np.shares_memory(result, array) for array in given.values())


def test_a_constant_source_has_its_value_and_an_empty_gradient():
    fn = gradc.compile("3.5")
    assert fn.forward() == 3.5
    assert fn.value_and_grad() == (3.5, {})


def test_an_unpaired_surrogate_is_a_parse_error():
    with pytest.raises(ParseError, match="surrogate") as info:
        gradc.compile("x + \ud800")
    str(info.value).encode("utf-8")  # the message itself can be printed


SOURCES = [  # every op the language has, so that every emission is scanned
    ("sum(exp(x) * log(1 + x * x) + sqrt(1 + x * x) + sin(x) * cos(x) + tan(x) + tanh(x))", {"x": "n"}),
    ("sum(sigmoid(x) + relu(x) + abs(x) + maximum(x, 0.5) + minimum(x, 0.5))", {"x": "n"}),
    ("sigmoid(a) + a ** b + a / b", {}),
    ("sum(softmax(X, axis=1) * X) + sum(log_softmax(X)) + logsumexp(X) + mean(max(X, axis=0))",
     {"X": "n,d"}),
    ("0.5 * sum((X @ w - y) ** 2) + sum(X.T @ y) + sum((y @ X) * w)", {"X": "n,d", "w": "d", "y": "n"}),
    ("mean(log(1 + exp(-y * (X @ w))))", {"X": "n,d", "w": "d", "y": "n"}),
]


@pytest.mark.parametrize("source, shapes", SOURCES)
def test_every_name_a_generated_module_reads_is_reserved(source, shapes):
    text = gradc.compile(source, shapes=shapes).source_with(["jvp", "vjp", "hvp", "hessian"])
    tree = ast.parse(text)
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    bound |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args}
    bound |= {alias.asname or alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names}
    free = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound
    assert free <= RESERVED | {"np"}, free - RESERVED
    assert all(hasattr(builtins, name) for name in free - {"np"})


def test_a_constant_index_past_a_named_dimension_is_a_shape_error_on_entry():
    fn = gradc.compile("X[5, -4] + x[2]", shapes={"x": "n", "X": "n,m"})
    assert fn.forward(x=np.arange(6.0), X=np.ones((6, 4))) == 3.0
    with pytest.raises(ShapeError, match=r"X\[5, -4\] needs n >= 6"):
        fn.forward(x=np.arange(3.0), X=np.ones((3, 4)))
    with pytest.raises(ShapeError, match=r"X\[5, -4\] needs m >= 4"):
        fn.value_and_grad(x=np.arange(6.0), X=np.ones((6, 3)))


@pytest.mark.parametrize("source, shapes", [("x ** y", []), ("sum(np.min(X, axis=1))", ["--shape", "X=n,d"]),
                                            ("logsumexp(x)", ["--shape", "x=n"])])
def test_explain_knows_the_new_ops(source, shapes):
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "gradc", "explain", source, *shapes], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("d/d")


def test_parsing_in_threads_leaves_the_recursion_limit_as_it_was():
    import sys
    import threading
    before = sys.getrecursionlimit()
    threads = [threading.Thread(target=gradc.compile, args=(f"x * {i} + y",)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sys.getrecursionlimit() == before
