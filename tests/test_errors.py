"""Bad input: every rejection is a GradcError subclass with a message and, where it has one, the column."""
import numpy as np
import pytest

import gradc
from gradc.errors import DifferentiationError, GradcError, ParseError, ShapeError, UnknownNameError


def rejection(source, kind=ParseError, shapes=None):
    with pytest.raises(kind) as info:
        gradc.compile(source, shapes=shapes)
    return info.value


@pytest.mark.parametrize("source, column, words", [
    ("x.shape", 0, "'.shape'"),
    ("y + x.real", 4, "'.real'"),
    ("lambda: x", 0, "lambda"),
    ("x + [t for t in y]", 4, "comprehension"),
    ("sum(t for t in y)", 3, "generator"),
    ("'a' + x", 0, "str"),
    ("x * 'a'", 4, "str"),
    ("__x + 1", 0, "underscore"),
    ("y + x.__class__", 4, "__class__"),
    ("__import__('os')", 0, "__import__"),
    ("sum(x, out=y)", 7, "axis"),
    ("sum(x, dtype=1)", 7, "axis"),
    ("exp(x, axis=0)", 7, "no keyword"),
    ("exp(x, y)", 0, "1 argument, got 2"),
    ("1 + maximum(x)", 4, "2 arguments, got 1"),
    ("max(x, y, z)", 0, "2 arguments, got 3"),
    ("exp = x\nexp", 0, "exp"),
    ("y = 1\nsum = y\nsum", 0, "sum"),
    ("pi = 3\npi * x", 0, "pi"),
    ("x if y else z", 0, "conditional"),
    ("x is y", 0, "comparison"),  # x < y is a mask now (issue 12)
    ("x and y", 0, "and/or"),
    ("x[y]", 2, "integer"),
    ("x[0:y]", 4, "integer"),  # x[0:2] is a slice now (issue 12); bounds stay constants
    ("np.fft.fft(x)", 0, "np.<name>"),
    ("x; y", 0, "bare expression"),
    ("y = x", 0, "last statement"),
    ("import os\nx", 0, "mport"),
    ("True * x", 0, "bool"),
    ("x + ", 4, "syntax"),
    ("exp", 0, "function"),
    ("a, b = x, y\na", 0, "single name"),
])
def test_rejected_with_parse_error_at_column(source, column, words):
    error = rejection(source)
    assert isinstance(error, GradcError)
    assert error.column == column, str(error)
    assert words in error.message, error.message
    assert error.line is not None


@pytest.mark.parametrize("source, suggestion", [("exq(x)", "exp"), ("sigmod(x)", "sigmoid"), ("np.sqr(x)", "sqrt"),
                                                ("x + tnah(y)", "tanh"), ("logsumexq(x)", "logsumexp")])
def test_unknown_function_suggests_a_near_miss(source, suggestion):
    error = rejection(source, UnknownNameError)
    assert f"did you mean '{suggestion}'?" in error.message
    assert source[error.column:].lstrip("np.").startswith(source[error.column:].lstrip("np.")[:1])


def test_unknown_function_column_and_caret():
    error = rejection("x + exq(y)", UnknownNameError)
    assert error.message == "unknown function 'exq': did you mean 'exp'?"
    assert error.column == 4
    assert error.caret() == "    x + exq(y)\n        ^"
    assert "column 5" in str(error)


def test_unknown_function_without_near_miss_points_to_the_ops_list():
    error = rejection("frobnicate(x)", UnknownNameError)
    assert "did you mean" not in error.message and "gradc ops" in error.message


def test_error_on_a_later_line_reports_line_and_column():
    error = rejection("a = x * 2\nb = a + 1\nc = exq(b)\nc")
    assert (error.line, error.column) == (3, 4)
    assert error.source_line() == "c = exq(b)"
    assert "line 3, column 5" in str(error)


def test_shape_error_names_op_shapes_and_column():
    error = rejection("0.5 * sum(X@w)", ShapeError, shapes={"X": ("n", "d"), "w": ("k",)})
    assert "@" in error.message
    assert "(n, d)" in error.message and "(k,)" in error.message
    assert error.column == 10
    assert error.caret() == "    0.5 * sum(X@w)\n    " + " " * 10 + "^"


@pytest.mark.parametrize("source, shapes, words", [
    ("sum(x + y)", {"x": ("n",), "y": ("m",)}, ["add", "(n,)", "(m,)"]),
    ("sum(x * y)", {"x": (3,), "y": (4,)}, ["mul", "(3,)", "(4,)"]),
    ("sum(x, axis=1)", {"x": ("n",)}, ["axis 1", "(n,)"]),
    ("x[3]", {"x": (3,)}, ["index 3"]),
    ("sum(A @ B)", {"A": ("b", "n", "k"), "B": ("c", "k", "m")}, ["@", "batch axes"]),  # 3-D @ broadcasts its batch axes
])
def test_other_shape_errors(source, shapes, words):
    error = rejection(source, ShapeError, shapes=shapes)
    for word in words:
        assert word in error.message, error.message
    assert error.column is not None


def test_call_with_wrong_shape_names_the_input(rng):
    fn = gradc.compile("0.5*sum((X@w - y)**2)", shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)})
    X, w = rng.standard_normal((5, 2)), rng.standard_normal(2)
    with pytest.raises(ShapeError, match=r"\by\b.*\(5, 1\)"):
        fn.grad(X=X, w=w, y=np.ones((5, 1)))  # would broadcast silently to (5, 5)
    with pytest.raises(ShapeError, match=r"\by\b"):
        fn.forward(X=X, w=w, y=np.ones(4))
    with pytest.raises(ShapeError, match=r"\bw\b"):
        fn.value_and_grad(X=X, w=np.ones(3), y=np.ones(5))
    with pytest.raises(ShapeError, match=r"\bX\b"):
        fn.grad(X=np.ones(5), w=w, y=np.ones(5))


def test_call_with_fixed_dimension_mismatch():
    fn = gradc.compile("sum(x)", shapes={"x": (3,)})
    with pytest.raises(ShapeError, match=r"\bx\b"):
        fn.grad(x=np.ones(4))


def test_array_for_a_scalar_input_names_the_input():
    fn = gradc.compile("x * y")
    with pytest.raises(ShapeError, match=r"\bx\b"):
        fn.forward(x=np.ones(2), y=1.0)
    with pytest.raises(ShapeError, match=r"\bx\b"):
        fn.grad(x=np.ones(2), y=1.0)


def test_call_with_missing_or_unknown_input():
    fn = gradc.compile("x * y")
    with pytest.raises(GradcError, match="missing input x"):
        fn.grad(y=1.0)
    with pytest.raises(GradcError, match="unknown input z"):
        fn.forward(x=1.0, y=2.0, z=3.0)


def test_wrt_must_name_inputs():
    with pytest.raises(GradcError, match="'q'.*not an input"):
        gradc.compile("x * y", wrt=["q"])
    with pytest.raises(GradcError, match="only once"):
        gradc.compile("x * y", wrt=["x", "x"])


def test_gradient_of_a_non_scalar_is_an_error():
    # A vector output compiles (forward only); asking for its gradient is an error that says why.
    fn = gradc.compile("exp(x)", shapes={"x": ("n",)})
    np.testing.assert_allclose(fn.forward(x=np.zeros(2)), [1.0, 1.0])
    with pytest.raises(GradcError, match=r"scalar|\(n,\)"):
        fn.grad(x=np.zeros(2))


def test_forward_only_compile_of_a_vector():
    fn = gradc.compile("exp(x)", wrt=(), shapes={"x": ("n",)})
    np.testing.assert_allclose(fn.forward(x=np.zeros(2)), [1.0, 1.0])
    with pytest.raises(GradcError):
        fn.grad(x=np.zeros(2))


@pytest.mark.parametrize("dims", [("n", 2.5), ("n", -1), ("not a name",), (True,)])
def test_invalid_declared_dimensions(dims):
    with pytest.raises(ShapeError, match="dimension"):
        gradc.compile("sum(x)", shapes={"x": dims})


@pytest.mark.parametrize("source", ["", "   ", "\n\n"])
def test_empty_source(source):
    error = rejection(source)
    assert "empty" in error.message


def test_source_must_be_text():
    with pytest.raises(GradcError):
        gradc.compile(b"x * y")


def test_every_error_class_is_a_gradc_error():
    for kind in (ParseError, UnknownNameError, ShapeError, DifferentiationError):
        assert issubclass(kind, GradcError)


def test_sum_of_20000_terms_compiles():
    # A long left-leaning chain is walked with a loop; no timing is asserted, but it must finish.
    names = [f"x{i % 20}" for i in range(20_000)]
    fn = gradc.compile(" + ".join(names))
    arrays = {f"x{i}": float(i) for i in range(20)}
    value, grads = fn.value_and_grad(**arrays)
    assert value == sum(float(i) for i in range(20)) * 1000
    assert grads == {f"x{i}": 1000.0 for i in range(20)}


def test_a_branch_sum_of_thousands_of_partials_is_written_over_several_lines():
    # Each term uses x and y once: their gradients add 1500 partials, more than Python parses on one line.
    fn = gradc.compile(" + ".join(f"{i + 1}*x*y" for i in range(1500)))
    value, grads = fn.value_and_grad(x=1.0, y=2.0)
    assert value == 1500 * 1501 and grads == {"x": 1500 * 1501, "y": 1500 * 1501 / 2}
    assert "g_x = g_x + " in fn.source


@pytest.mark.parametrize("source", ["(" * 1000 + "x" + ")" * 1000, "-" * 100_000 + "x", "x" + "**x" * 5000,
                                    "exp(" * 3000 + "x" + ")" * 3000])
def test_very_deep_nesting_is_rejected_cleanly(source):
    with pytest.raises(GradcError, match="nested|syntax"):
        gradc.compile(source)


def test_moderate_nesting_compiles():
    fn = gradc.compile("sin(" * 60 + "x" + ")" * 60)
    value, grads = fn.value_and_grad(x=0.3)
    expected, slope = 0.3, 1.0
    for _ in range(60):
        slope *= np.cos(expected)
        expected = np.sin(expected)
    assert value == pytest.approx(expected, rel=1e-14)
    assert grads["x"] == pytest.approx(slope, rel=1e-12)


def test_augmented_assignment_is_rejected_on_its_line():
    error = rejection("h = x * y\nh += x\nh")
    assert (error.line, error.column) == (2, 0)


def test_a_chain_of_1500_scalar_statements_compiles():
    # Whether a gradient is already a Python float is decided by a walk, not by recursion down the chain.
    source = "; ".join(["t0 = x*y"] + [f"t{i} = t{i - 1}*y + x" for i in range(1, 1500)]) + "; t1499"
    grads = gradc.compile(source).grad(x=0.5, y=0.999)
    assert grads["x"] == pytest.approx(0.999 ** 1500 + sum(0.999 ** i for i in range(1499)), rel=1e-12)
    assert type(grads["x"]) is float
