"""Reverse mode: branch sums, unused inputs, broadcast inputs, and the purity of the generated functions."""
import ast

import numpy as np
import pytest

import gradc
from gradc.transform.differentiate import differentiate
from gradc.backend.interpret import evaluate
from gradc.frontend.parse import parse
from gradc.transform.simplify import simplify
from helpers import assert_grad_matches


def function_source(fn, name):
    tree = ast.parse(fn.source)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    return ast.get_source_segment(fn.source, node)


def test_operand_used_twice_by_one_node():
    fn = gradc.compile("x * x")
    assert fn.value_and_grad(x=-3.0) == (9.0, {"x": -6.0})


def test_value_used_by_several_nodes_sums_its_partials(rng):
    fn = gradc.compile("sin(x) * exp(x) + x")
    x = 0.7
    assert fn.grad(x=x)["x"] == pytest.approx(np.cos(x) * np.exp(x) + np.sin(x) * np.exp(x) + 1, rel=1e-14)
    body = function_source(fn, "value_and_grad")
    assert "used more than once" in body  # the branch sum is visible
    assert any(line.strip().startswith("g_x = ") and " + " in line for line in body.splitlines())
    assert_grad_matches(fn.forward, fn.grad(x=x), {"x": x}, ["x"], rng)


def test_branch_sum_is_an_explicit_node():
    graph = simplify(parse("x / (x + y)"))
    differentiate(graph, ["x", "y"])
    ops = [graph[n]["op"] for n in graph.order()]
    assert ops.count("accumulate") == 1
    values = evaluate(graph, {"x": 1.0, "y": 2.0})
    assert values[graph.outputs[1]] == pytest.approx(2 / 9) and values[graph.outputs[2]] == pytest.approx(-1 / 9)


def test_shared_intermediate_in_matrix_code(rng):
    fn = gradc.compile("h = tanh(X @ w)\nsum(h * h) + sum(h)", shapes={"X": ("n", "d"), "w": ("d",)})
    arrays = {"X": rng.standard_normal((4, 3)), "w": rng.standard_normal(3)}
    assert_grad_matches(fn.forward, fn.grad(**arrays), arrays, ["X", "w"], rng)


def test_unused_input_gets_zeros_of_its_shape(rng):
    fn = gradc.compile("a = exp(Y)\nsum(x * x) + c * 0", shapes={"x": ("n",), "Y": ("n", "k")})
    assert fn.inputs == ("Y", "x", "c")
    x, Y = rng.standard_normal(3), rng.standard_normal((3, 2))
    grads = fn.grad(Y=Y, x=x, c=5.0)
    np.testing.assert_array_equal(grads["Y"], np.zeros((3, 2)))
    assert grads["Y"].dtype == np.float64
    assert grads["c"] == 0.0 and isinstance(grads["c"], float)
    np.testing.assert_allclose(grads["x"], 2 * x)


def test_wrt_subset_returns_only_those(rng):
    fn = gradc.compile("sum(X @ w)", wrt=["w"], shapes={"X": ("n", "d"), "w": ("d",)})
    assert fn.wrt == ("w",) and fn.inputs == ("X", "w")
    X = rng.standard_normal((4, 3))
    grads = fn.grad(X=X, w=np.ones(3))
    assert list(grads) == ["w"]
    np.testing.assert_allclose(grads["w"], X.sum(axis=0))


@pytest.mark.parametrize("source, shapes, b_shape", [
    ("sum(tanh(X + b))", {"X": ("n", "k"), "b": ("k",)}, (3,)),
    ("sum(tanh(X + b))", {"X": ("n", "k"), "b": (1, "k")}, (1, 3)),
    ("sum(tanh(X + b))", {"X": ("n", "k"), "b": ("n", 1)}, (4, 1)),
    ("sum(tanh(X + b))", {"X": ("n", "k")}, ()),
    ("sum(tanh(X * b))", {"X": ("n", "k"), "b": ("k",)}, (3,)),
    ("sum(tanh(b - X))", {"X": ("n", "k"), "b": ("k",)}, (3,)),
    ("sum(tanh(X / b))", {"X": ("n", "k"), "b": ("k",)}, (3,)),
    ("sum(maximum(X, b))", {"X": ("n", "k"), "b": ("k",)}, (3,)),
])
def test_broadcast_input_gets_gradient_summed_to_its_shape(source, shapes, b_shape, rng):
    fn = gradc.compile(source, shapes=shapes)
    arrays = {"X": rng.standard_normal((4, 3)),
              "b": rng.uniform(0.5, 1.5, b_shape) if b_shape else float(rng.uniform(0.5, 1.5))}
    grads = fn.grad(**arrays)
    assert np.shape(grads["b"]) == b_shape and np.shape(grads["X"]) == (4, 3)
    assert_grad_matches(fn.forward, grads, arrays, ["X", "b"], rng)


def test_bias_gradient_is_a_column_sum(rng):
    fn = gradc.compile("sum(X + b)", shapes={"X": ("n", "k"), "b": ("k",)})
    grads = fn.grad(X=rng.standard_normal((5, 3)), b=np.zeros(3))
    np.testing.assert_array_equal(grads["b"], [5.0, 5.0, 5.0])
    fn = gradc.compile("sum(tanh(X + b))", shapes={"X": ("n", "k"), "b": ("k",)})
    assert 'np.einsum("ij->j", ' in function_source(fn, "value_and_grad").split("# backward")[1]


def test_forward_intermediates_are_reused_not_recomputed():
    fn = gradc.compile("sum(exp(x)) + sum(tanh(x))", shapes={"x": ("n",)})
    code = [line.split("#")[0] for line in function_source(fn, "value_and_grad").splitlines()]
    assert sum("np.exp(" in line for line in code) == 1 and sum("np.tanh(" in line for line in code) == 1


# Purity: inputs untouched, gradients aliasing nothing, the same answer twice.
PURITY = [
    ("sum(x * y)", {"x": ("n",), "y": ("n",)}),
    ("0.5 * sum(x * x)", {"x": ("n",)}),
    ("sum(x + y)", {"x": ("n",), "y": ("n",)}),
    ("x @ y", {"x": ("n",), "y": ("n",)}),
    ("x @ x", {"x": ("n",)}),
    ("sum(X @ v)", {"X": ("m", "n"), "v": ("n",)}),
    ("sum(A.T * B)", {"A": ("m", "n"), "B": ("n", "m")}),
    ("sum(transpose(A) @ A)", {"A": ("m", "n")}),
    ("sum(x) + sum(y)", {"x": ("n",), "y": ("n",)}),
    ("mean(A) + s * sum(x)", {"A": ("m", "n"), "x": ("n",)}),
    ("sum(relu(x)) + sum(abs(y))", {"x": ("n",), "y": ("n",)}),
    ("A[1, 0] * x[0]", {"A": ("m", "n"), "x": ("n",)}),
    ("sum(softmax(A) * B)", {"A": ("m", "n"), "B": ("m", "n")}),
    ("logsumexp(x) + sum(y)", {"x": ("n",), "y": ("n",)}),
    ("sum(x) * s", {"x": ("n",)}),
]


def arrays_for(fn, rng):
    sizes = {"m": 2, "n": 3}
    return {name: rng.standard_normal(tuple(sizes[d] for d in fn.shapes[name])) if name in fn.shapes
            else float(rng.standard_normal()) for name in fn.inputs}


@pytest.mark.parametrize("source, shapes", PURITY)
def test_generated_functions_are_pure(source, shapes, rng):
    fn = gradc.compile(source, shapes=shapes)
    arrays = arrays_for(fn, rng)
    copies = {k: np.copy(v) for k, v in arrays.items()}
    value, grads = fn.value_and_grad(**arrays)
    value_again, grads_again = fn.value_and_grad(**arrays)
    for name, array in arrays.items():
        np.testing.assert_array_equal(array, copies[name], err_msg=f"{name} was mutated")
    assert value == value_again and fn.forward(**arrays) == value
    for name, gradient in grads.items():
        np.testing.assert_array_equal(gradient, grads_again[name])
        if not np.shape(arrays[name]):
            assert type(gradient) is float, name
            continue
        assert isinstance(gradient, np.ndarray) and gradient.dtype == np.float64, name
        assert gradient.shape == arrays[name].shape, name
        for other, array in arrays.items():
            assert not np.shares_memory(gradient, array), f"gradient of {name} aliases input {other}"
        for other, gradient2 in grads.items():
            if other != name:
                assert not np.shares_memory(gradient, gradient2), f"gradients of {name} and {other} alias"
        for other, gradient2 in grads_again.items():
            assert not np.shares_memory(gradient, gradient2), "two calls return the same memory"


@pytest.mark.parametrize("source, shapes", PURITY)
def test_returned_gradients_can_be_updated_in_place(source, shapes, rng):
    # An optimiser may scale a gradient in place (g *= lr); a read-only broadcast view would refuse.
    fn = gradc.compile(source, shapes=shapes)
    arrays = arrays_for(fn, rng)
    for name, gradient in fn.grad(**arrays).items():
        if isinstance(gradient, np.ndarray):
            assert gradient.flags.writeable, f"gradient of {name} is read-only"


def test_gradient_of_scalar_input_is_a_python_float(rng):
    fn = gradc.compile("sum(exp(s * x))", shapes={"x": ("n",)})
    grads = fn.grad(s=np.float64(0.5), x=rng.standard_normal(3))
    assert type(grads["s"]) is float
    assert type(fn.grad(s=np.array(0.5), x=rng.standard_normal(3))["s"]) is float


def test_scalar_circuit_gradients_are_python_floats_without_conversions():
    fn = gradc.compile("(x + y) * z")
    value, grads = fn.value_and_grad(x=np.float64(-2.0), y=5, z=np.array(-4.0))
    assert value == -12.0 and grads == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert all(type(g) is float for g in grads.values())
    assert "float(g_" not in fn.source  # already floats: the return converts nothing


@pytest.mark.parametrize("source, at, value", [
    ("x / y", {"x": 1.0, "y": 0.0}, np.inf),                 # NumPy scalars: inf, not ZeroDivisionError
    ("x ** y", {"x": 1e200, "y": 2.0}, np.inf),              # not OverflowError
    ("(x + y) * z", {"x": 1e200, "y": 0.0, "z": 1e200}, np.inf),  # Python floats, which overflow to inf too
])
def test_scalar_arithmetic_follows_numpy(source, at, value):
    fn = gradc.compile(source, wrt=())
    with np.errstate(all="ignore"):
        assert fn.forward(**at) == value
    uses_python_floats = "np.float64(x)" not in fn.source
    assert uses_python_floats == (source == "(x + y) * z")


def test_integer_inputs_give_float64_gradients():
    fn = gradc.compile("sum(x * x)", shapes={"x": ("n",)})
    grads = fn.grad(x=np.arange(3))
    np.testing.assert_array_equal(grads["x"], [0.0, 2.0, 4.0])
    assert grads["x"].dtype == np.float64


@pytest.mark.parametrize("reduce", ["sum", "mean"])
@pytest.mark.parametrize("op", ["X + b", "b + X", "X - b", "b - X", "X * b", "X / b", "maximum(X, b)",
                                "minimum(b, X)", "b ** 2 + X", "-b + X"])
@pytest.mark.parametrize("b_shape", [(), (3,), (1, 3), (4, 1)])
def test_broadcast_operand_under_a_plain_reduction(reduce, op, b_shape, rng):
    # The adjoint of sum is a scalar standing for a whole array: a broadcast operand must sum its copies.
    shapes = {"X": ("n", "k")}
    if b_shape:
        shapes["b"] = tuple({3: "k", 4: "n"}.get(d, d) for d in b_shape)
    fn = gradc.compile(f"{reduce}({op})", shapes=shapes)
    arrays = {"X": rng.standard_normal((4, 3)),
              "b": rng.uniform(0.5, 1.5, b_shape) if b_shape else float(rng.uniform(0.5, 1.5))}
    assert_grad_matches(fn.forward, fn.grad(**arrays), arrays, ["X", "b"], rng)


def test_partials_written_through_a_view_wait_for_their_value(rng):
    """`g_B_2 = t5.T` comes after t5's line; A's partial through the cancelled `B - A + A` is not written."""
    source = "sum(((B - A) + A - (A - A)).T @ (A + B))"
    fn = gradc.compile(source, shapes={"A": ("n", "k"), "B": ("n", "k")})
    arrays = {"A": rng.standard_normal((4, 3)), "B": rng.standard_normal((4, 3))}
    value, grads = fn.value_and_grad(**arrays)
    assert value == pytest.approx(np.sum(arrays["B"].T @ (arrays["A"] + arrays["B"])), rel=1e-12)
    assert_grad_matches(fn.forward, grads, arrays, ["A", "B"], rng)
    assert "g_A_2" not in fn.source
