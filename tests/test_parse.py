"""The accepted language: what parses, into which graph, and that it computes what NumPy computes."""
import math

import numpy as np
import pytest

import gradc
from gradc.backend.interpret import evaluate
from gradc.frontend.parse import parse


def ops_of(graph):
    return [graph[n]["op"] for n in graph.order()]


def value_of(source, shapes=None, **arrays):
    graph = parse(source, shapes)
    return evaluate(graph, arrays)[graph.outputs[0]]


@pytest.mark.parametrize("source", ["np.exp(x) + numpy.sin(y)", "exp(x) + sin(y)", "numpy.exp(x) + np.sin(y)"])
def test_numpy_prefixes_are_accepted(source):
    assert value_of(source, x=0.5, y=0.25) == pytest.approx(math.exp(0.5) + math.sin(0.25), rel=1e-15)
    assert "exp" in ops_of(parse(source)) and "sin" in ops_of(parse(source))


@pytest.mark.parametrize("source", ["a = x*2; b = a + 1; b*y", "a = x*2\nb = a + 1\nb*y", "a = x*2; b = a + 1\nb*y"])
def test_statements_separated_by_semicolons_or_newlines(source):
    fn = gradc.compile(source)
    assert fn.inputs == ("x", "y")
    assert fn.forward(x=3.0, y=2.0) == 14.0
    assert fn.grad(x=3.0, y=2.0) == {"x": 4.0, "y": 7.0}


def test_names_bound_by_assignment_name_lines_in_the_module():
    fn = gradc.compile("h = x*y\nh + x")
    assert "h = x * y" in fn.source


def test_shape_declarations_in_the_source(rng):
    fn = gradc.compile("X: (n, d)\nw: (d,)\nsum(X@w)")
    X, w = rng.standard_normal((4, 3)), rng.standard_normal(3)
    assert fn.forward(X=X, w=w) == pytest.approx(np.sum(X @ w))
    grads = fn.grad(X=X, w=w)
    np.testing.assert_allclose(grads["w"], X.sum(axis=0))
    np.testing.assert_allclose(grads["X"], np.outer(np.ones(4), w))
    graph = parse("X: (n, 3)\nsum(X)")
    assert graph.shape(graph.inputs["X"]) == ("n", 3)


def test_inputs_in_order_of_first_appearance():
    assert gradc.compile("z * y + x").inputs == ("z", "y", "x")
    assert gradc.compile("a = w * 2\nx + a").inputs == ("w", "x")


@pytest.mark.parametrize("source, expected", [("pi * x", math.pi * 2), ("np.pi * x", math.pi * 2),
                                              ("numpy.pi * x", math.pi * 2), ("1e3 * x", 2000.0),
                                              ("-x**2", -4.0), ("+x", 2.0), ("x ** -1", 0.5), ("2 ** x", 4.0),
                                              ("3 - x - 1", 0.0), ("8 / x / 2", 2.0), ("2 ** 3 ** x", 2.0 ** 9)])
def test_constants_and_operator_precedence(source, expected):
    assert value_of(source, x=2.0) == pytest.approx(expected, rel=1e-15)


def test_transpose_and_matmul_variants(rng):
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    u, v = rng.standard_normal(3), rng.standard_normal(2)
    shapes = {"A": ("m", "n"), "B": ("n", "k"), "u": ("n",), "v": ("m",)}
    arrays = dict(A=A, B=B, u=u, v=v)
    for source, expected in [("sum(A @ B)", np.sum(A @ B)), ("sum(A @ u)", np.sum(A @ u)),
                             ("sum(v @ A)", np.sum(v @ A)), ("u @ u", u @ u), ("sum(A.T @ v)", np.sum(A.T @ v)),
                             ("sum(transpose(A) @ v)", np.sum(A.T @ v)), ("sum(dot(A, u))", np.sum(A @ u)),
                             ("sum(np.matmul(A, B))", np.sum(A @ B)), ("sum(A.T.T @ u)", np.sum(A @ u))]:
        used = {k: a for k, a in arrays.items() if k in source}
        assert value_of(source, {k: s for k, s in shapes.items() if k in used}, **used) == pytest.approx(expected)


def test_indexing_by_integer_constants(rng):
    W = rng.standard_normal((3, 4))
    assert value_of("W[1, 2]", {"W": (3, 4)}, W=W) == W[1, 2]
    assert value_of("W[-1, 0]", {"W": (3, 4)}, W=W) == W[-1, 0]
    assert value_of("sum(W[1])", {"W": ("m", "n")}, W=W) == pytest.approx(W[1].sum())
    assert value_of("W[1][2]", {"W": (3, 4)}, W=W) == W[1, 2]


@pytest.mark.parametrize("source, reference", [
    ("sum(X, axis=0)", lambda X: X.sum(axis=0)), ("sum(X, axis=-1)", lambda X: X.sum(axis=-1)),
    ("sum(X, axis=(0, 1))", lambda X: X.sum()), ("mean(X, axis=1)", lambda X: X.mean(axis=1)),
    ("sum(X, axis=None)", lambda X: X.sum()), ("softmax(X)", lambda X: np.exp(X) / np.exp(X).sum(-1, keepdims=True)),
    ("softmax(X, axis=0)", lambda X: np.exp(X) / np.exp(X).sum(0, keepdims=True)),
    ("logsumexp(X, axis=1)", lambda X: np.log(np.exp(X).sum(1))),
    ("log_softmax(X, axis=0)", lambda X: X - np.log(np.exp(X).sum(0, keepdims=True))),
])
def test_axis_keywords(source, reference, rng):
    X = rng.standard_normal((2, 3))
    np.testing.assert_allclose(value_of(source, {"X": ("m", "n")}, X=X), reference(X), rtol=1e-14)


@pytest.mark.parametrize("source", ["max(x, y)", "maximum(x, y)", "np.maximum(x, y)"])
def test_two_argument_max(source):
    assert value_of(source, x=1.0, y=3.0) == 3.0
    assert ops_of(parse(source))[-1] == "maximum"


@pytest.mark.parametrize("source", ["min(x, y)", "minimum(x, y)", "np.minimum(x, y)"])
def test_two_argument_min(source):
    assert value_of(source, x=1.0, y=3.0) == 1.0


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs"])
def test_every_elementwise_function_is_callable(name):
    graph = parse(f"{name}(x)")
    assert ops_of(graph) == ["input", name]


def test_operand_used_twice_by_one_node():
    graph = parse("x * x")
    node = graph.outputs[0]
    x = graph.inputs["x"]
    assert graph.args(node) == (x, x)
    assert gradc.compile("x * x").grad(x=3.0) == {"x": 6.0}


def test_nodes_carry_op_shape_and_source_span():
    graph = parse("X: (n, d)\nw: (d,)\ns = X @ w\nsum(s)")
    node = graph.outputs[0]
    data = graph[node]
    assert data["op"] == "sum" and data["shape"] == ()
    assert (data["span"].text, data["span"].line, data["span"].column) == ("sum(s)", 4, 0)
    matmul = graph.args(node)[0]
    assert graph[matmul]["shape"] == ("n",)
    assert graph[matmul]["name"] == "s"
    assert (graph[matmul]["span"].text, graph[matmul]["span"].line) == ("X @ w", 3)


def test_newlines_inside_parentheses_never_leave_a_comment():
    import ast
    fn = gradc.compile("(x +\n y) * z  # a comment \"\"\" with quotes")
    assert fn.forward(x=1.0, y=2.0, z=3.0) == 9.0
    code = [node for node in ast.parse(fn.source).body if isinstance(node, ast.FunctionDef)]
    plain = [node for node in ast.parse(gradc.compile("(x + y) * z").source).body if isinstance(node, ast.FunctionDef)]
    assert [ast.dump(f) for f in code] == [ast.dump(f) for f in plain]  # the same code; only comments differ


def test_never_evaluates_source(tmp_path, monkeypatch):
    import builtins

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec called on user source")
    monkeypatch.setattr(builtins, "eval", forbidden)
    parse("exp(x) + y")  # parse() must not need eval; `__import__('os')` is a name, rejected below
    with pytest.raises(gradc.ParseError):
        parse("__import__('os').system('true')")
