"""Python functions in: read with inspect or ast (never run), errors at the user's file and line."""
import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy
import numpy as np
import pytest

import gradc
from gradc.errors import ParseError, ShapeError, UnknownNameError
from gradc.api import Gradient
from gradc.frontend.pyfunc import from_file, shapes_from_example

ROOT = Path(__file__).resolve().parent.parent
HERE = os.path.basename(__file__)


def least_squares(X, w, y):
    """0.5 |X w - y|^2; this docstring is skipped."""
    r = X @ w - y
    r2 = r * r
    return 0.5 * np.sum(r2)


def network(x, W1, b1, W2, b2, y):
    h = np.maximum(W1 @ x + b1, 0)
    s = numpy.tanh(W2 @ h + b2)  # gradc reads `numpy.` like `np.`
    return 0.5 * np.sum((s - y) ** 2)


def softmax_rows(Z, T):
    m = np.exp(Z)
    p = m / np.sum(m, axis=1)[0]
    lse = np.log(np.sum(np.exp(Z), axis=-1))
    return np.mean(lse) + np.sum(p * T, axis=0)[1]


def test_parameters_are_the_inputs_in_order_and_locals_are_reused(rng):
    fn = gradc.compile(least_squares, shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)})
    assert fn.inputs == ("X", "w", "y")  # parameter order, not order of first appearance
    X, w, y = rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(5)
    assert fn.forward(X=X, w=w, y=y) == pytest.approx(least_squares(X, w, y))
    np.testing.assert_allclose(fn.grad(X=X, w=w, y=y)["w"], X.T @ (X @ w - y))
    assert "    r = t1 - y  # X @ w - y\n" in fn.source  # local names are kept


def test_unused_parameter_is_an_input_with_a_zero_gradient():
    def f(x, unused, y):
        return x * y
    fn = gradc.compile(f)
    assert fn.inputs == ("x", "unused", "y")
    assert fn.grad(x=2.0, unused=5.0, y=3.0) == {"x": 3.0, "unused": 0.0, "y": 2.0}


def test_numpy_prefixes_and_keyword_axis(rng):
    from gradc.gradcheck import compare
    Z, T = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    fn = gradc.compile(softmax_rows, shapes={"Z": ("n", "k"), "T": ("n", "k")})
    assert fn.forward(Z=Z, T=T) == pytest.approx(softmax_rows(Z, T))
    assert max(row[5] for row in compare(fn, {"Z": Z, "T": T})) < 1e-6


def test_the_lecture_network_matches_numpy_and_finite_differences(rng):
    from gradc.gradcheck import compare
    point = {"x": rng.standard_normal(3), "W1": rng.standard_normal((4, 3)), "b1": rng.standard_normal(4),
             "W2": rng.standard_normal((2, 4)), "b2": rng.standard_normal(2), "y": rng.standard_normal(2)}
    fn = gradc.compile(network, example=point)
    assert fn.inputs == ("x", "W1", "b1", "W2", "b2", "y")
    assert fn.forward(**point) == pytest.approx(network(**point))
    assert max(row[5] for row in compare(fn, point)) < 1e-6


def test_the_module_names_the_function_and_its_equivalent_expression():
    fn = gradc.compile(least_squares, wrt="w", shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)})
    header = fn.source.split('"""')[1]
    assert "from `r = X @ w - y; r2 = r * r; 0.5 * np.sum(r2)`" in header
    assert f"gradc compile {HERE}:least_squares --wrt w" in header
    assert "/" not in header.split("gradc compile")[1].split("`")[0]  # no directories in the header


def scaled(x, y):
    return 2 * x * y


def test_compiling_the_same_function_twice_is_cached():
    assert gradc.compile(scaled) is gradc.compile(scaled)
    assert gradc.compile(scaled, wrt="x") is not gradc.compile(scaled)


def test_a_nested_function_is_dedented_and_compiled():
    class Model:
        @staticmethod
        def loss(a, b):
            c = a * b
            return c + a
    assert gradc.compile(Model.loss).grad(a=2.0, b=3.0) == {"a": 4.0, "b": 2.0}


# Functions outside the language. Each `# <-` marks the line the error must name.
def with_loop(x, y):
    z = x
    for _ in range(3):  # <-
        z = z * y
    return z


def with_if(x):
    if x > 0:  # <-
        return x
    return -x


def with_while(x):
    while x > 1:  # <-
        x = x / 2
    return x


def with_unknown_call(x):
    h = np.exp(x)
    return np.sort(h)  # <-


def with_helper(x):
    return helper(x)  # <-  # noqa: F821


def with_global(x):
    return x * SCALE  # <-  # noqa: F821


def with_conditional_expression(x, y):
    return x if y > 0 else y  # <-


def with_nested_def(x):
    def inner(t):  # <-
        return t
    return x


def with_default(x, lam=0.1):  # <-
    return lam * x


def without_return(x):
    y = x * 2  # <-


def with_attribute_call(x):
    return x.tolist()  # <-


def with_shape_mismatch(X, w):
    return np.sum(X @ w)  # <-


def marked_line(func):
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, line in enumerate(lines) if "# <-" in line)


@pytest.mark.parametrize("func, kind, words", [
    (with_loop, ParseError, "for loops are not supported"),
    (with_if, ParseError, "if statements are not supported"),
    (with_while, ParseError, "while loops are not supported"),
    (with_unknown_call, ParseError, "sort has no gradient"),
    (with_helper, UnknownNameError, "unknown function 'helper'"),
    (with_global, UnknownNameError, "'SCALE' is neither a parameter"),
    (with_conditional_expression, ParseError, "conditional expression"),
    (with_nested_def, ParseError, "function definitions are not supported"),
    (with_default, ParseError, "default values"),
    (without_return, ParseError, "must end with `return expr`"),
    (with_attribute_call, ParseError, "the method .tolist() is not supported"),
    (with_shape_mismatch, ShapeError, "do not align"),
])
def test_errors_point_at_the_users_file_and_line(func, kind, words):
    shapes = {"X": ("n", "d"), "w": ("k",)} if func is with_shape_mismatch else None
    with pytest.raises(kind) as info:
        gradc.compile(func, shapes=shapes)
    error, line = info.value, marked_line(func)
    assert words in error.message
    assert error.filename == __file__ and error.line == line
    assert str(error).startswith(f"{__file__}:{line}: {error.message}")
    source_line = Path(__file__).read_text().splitlines()[line - 1]
    text, caret = error.caret().splitlines()
    assert text == "    " + source_line  # the user's own line, with its indentation
    column = caret.index("^") - 4
    assert len(source_line) - len(source_line.lstrip()) <= column < len(source_line)


def test_the_caret_is_under_the_offending_column():
    with pytest.raises(ParseError) as info:
        gradc.compile(with_loop)
    text, caret = info.value.caret().splitlines()
    assert text[caret.index("^"):].startswith("for ")
    with pytest.raises(UnknownNameError) as info:
        gradc.compile(with_global)
    text, caret = info.value.caret().splitlines()
    assert text[caret.index("^"):].startswith("SCALE")


def test_lambdas_and_builtins_are_rejected_with_a_reason():
    with pytest.raises(gradc.GradcError, match="lambda"):
        gradc.compile(lambda x: x * 2)
    with pytest.raises(gradc.GradcError, match="expression or a Python function"):
        gradc.compile(np.exp)


def test_a_function_without_a_file_is_rejected():
    namespace = {}
    exec("def f(x):\n    return x * 2\n", namespace)  # the test's own text: no file behind it
    with pytest.raises(gradc.GradcError, match="cannot read the source of f"):
        gradc.compile(namespace["f"])


# Shapes from example arrays.
def test_example_arrays_give_named_dims_shared_by_equal_sizes():
    example = {"X": np.zeros((5, 3)), "w": np.zeros(3), "y": np.zeros(5), "b": 0.0, "c": np.zeros((1, 3))}
    shapes, dtype = shapes_from_example(example)
    assert shapes == {"X": ("d0", "d1"), "w": ("d1",), "y": ("d0",), "b": (), "c": (1, "d1")}
    assert dtype == np.float64
    assert shapes_from_example({"d0": np.zeros(2), "v": np.zeros(4)})[0] == {"d0": ("d1",), "v": ("d2",)}


def test_example_dtype_is_the_float_type_of_the_arrays():
    assert shapes_from_example({"x": np.zeros(2, np.float32)})[1] == np.float32
    assert shapes_from_example({"x": np.arange(3)})[1] == np.float64
    with pytest.raises(gradc.GradcError, match="complex"):
        shapes_from_example({"z": np.zeros(2, complex)})


def test_a_module_compiled_from_examples_serves_other_sizes(rng):
    X, w, y = rng.standard_normal((6, 2)), rng.standard_normal(2), rng.standard_normal(6)
    fn = gradc.compile(least_squares, example={"X": X, "w": w, "y": y})
    assert fn.dtype == np.float64
    assert "X: (d0, d1); w: (d1,); y: (d0,)" in fn.source
    X2, w2, y2 = rng.standard_normal((9, 4)), rng.standard_normal(4), rng.standard_normal(9)
    assert fn.forward(X=X2, w=w2, y=y2) == pytest.approx(least_squares(X2, w2, y2))
    with pytest.raises(ShapeError, match="y has shape"):
        fn.forward(X=X2, w=w2, y=y)  # the rows of X and y were equal in the example


def test_example_works_for_strings_and_explicit_shapes_win(rng):
    graph = gradc.compile("sum(X @ w)", example={"X": np.ones((4, 3)), "w": np.ones(3)}).stages.parsed
    assert [graph.shape(node) for node in graph.inputs.values()] == [("d0", "d1"), ("d1",)]
    graph = gradc.compile("sum(X @ w)", example={"X": np.ones((4, 3))},
                          shapes={"X": ("n", "d"), "w": ("d",)}).stages.parsed
    assert graph.shape(graph.inputs["X"]) == ("n", "d")
    with pytest.raises(ShapeError):  # w: (d1,) from the example cannot meet X's d
        gradc.compile("sum(X @ w)", example={"w": np.ones(3)}, shapes={"X": ("n", "d")})


def test_float32_examples_compute_in_float32():
    fn = gradc.compile(least_squares, example={"X": np.ones((3, 2), np.float32), "w": np.ones(2, np.float32),
                                               "y": np.ones(3, np.float32)})
    assert fn.dtype == np.float32
    value, grads = fn.value_and_grad(X=np.ones((3, 2), np.float32), w=np.ones(2, np.float32),
                                     y=np.zeros(3, np.float32))
    assert grads["w"].dtype == np.float32 and value == pytest.approx(6.0)


# The decorator.
@gradc.gradient(wrt="w", example={"X": np.zeros((4, 3)), "w": np.zeros(3), "y": np.zeros(4)})
def decorated(X, w, y):
    r = X @ w - y
    return 0.5 * np.sum(r ** 2)


@gradc.gradient
def bare(x, y):
    return x * y + np.sin(x)


def test_the_decorator_keeps_a_callable_with_gradients(rng):
    assert isinstance(decorated, Gradient) and decorated.__name__ == "decorated"
    assert decorated.inputs == ("X", "w", "y") and decorated.wrt == ("w",)
    X, w, y = rng.standard_normal((7, 3)), rng.standard_normal(3), rng.standard_normal(7)
    assert decorated(X, w, y) == pytest.approx(decorated.__wrapped__(X, w, y))  # positional, like the original
    value, grads = decorated.value_and_grad(X, w=w, y=y)
    assert value == pytest.approx(decorated(X=X, w=w, y=y))
    np.testing.assert_allclose(grads["w"], X.T @ (X @ w - y))
    np.testing.assert_allclose(decorated.grad(X, w, y)["w"], grads["w"])
    assert decorated.compiled is gradc.compile(decorated.__wrapped__, wrt="w", example={
        "X": np.zeros((4, 3)), "w": np.zeros(3), "y": np.zeros(4)})
    assert bare.grad(0.0, 2.0) == {"x": 3.0, "y": 0.0}
    with pytest.raises(gradc.GradcError, match="got x twice"):
        bare(1.0, x=2.0)


def test_the_decorator_raises_at_definition_time_at_the_users_line():
    with pytest.raises(ParseError) as info:
        @gradc.gradient(wrt="x")
        def broken(x):
            if x:  # <-
                return x
            return x
    assert info.value.line == marked_line_in(__file__, "if x:  # <-")


def marked_line_in(path, text):
    return next(i for i, line in enumerate(Path(path).read_text().splitlines(), 1) if line.strip() == text)


def test_the_decorated_function_trains_with_the_driver(rng):
    from gradc.optim.descent import minimize
    X = rng.standard_normal((20, 3))
    w_true = np.array([1.0, -2.0, 0.5])
    result = minimize(decorated, {"w": np.zeros(3)}, data={"X": X, "y": X @ w_true}, lr=0.02, max_iter=2000,
                      tol=1e-14, progress=False)
    np.testing.assert_allclose(result.params["w"], w_true, atol=1e-5)


# Files: found with ast, never run; and the CLI's path:function.
MODEL = '''\
import numpy as np
raise SystemExit("this file must not be run")


def loss(X, w, y):
    r = X @ w - y
    return 0.5 * np.mean(r ** 2)


def broken(x):
    total = 0
    for i in range(3):
        total = total + x
    return total
'''


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    return path


def test_a_file_function_is_found_without_running_the_file(model, rng):
    fn = gradc.compile(from_file(str(model), "loss"), wrt="w", shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)})
    X, w, y = rng.standard_normal((5, 2)), rng.standard_normal(2), rng.standard_normal(5)
    np.testing.assert_allclose(fn.grad(X=X, w=w, y=y)["w"], X.T @ (X @ w - y) / 5)
    with pytest.raises(gradc.GradcError, match="no top-level function 'nope'.*loss, broken"):
        from_file(str(model), "nope")


def gradc_cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "gradc", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def test_cli_compiles_path_colon_function(model, tmp_path):
    done = gradc_cli("compile", "model.py:loss", "--wrt", "w", "--shape", "X=n,d", "--shape", "w=d",
                     "--shape", "y=n", "-o", "out.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "out.py").read_text()
    assert "INPUTS = ('X', 'w', 'y')" in text
    assert "regenerate with `gradc compile model.py:loss --wrt w --shape X=n,d --shape w=d --shape y=n`" in text
    checked = gradc_cli("check", "model.py:loss", "--shape", "X=n,d", "--shape", "w=d", "--shape", "y=n",
                        cwd=tmp_path)
    assert checked.returncode == 0 and "OK" in checked.stdout, checked.stdout + checked.stderr


def test_cli_errors_name_the_file_and_line_with_a_caret(model, tmp_path):
    done = gradc_cli("compile", "model.py:broken", cwd=tmp_path)
    assert done.returncode == 2
    first, text, caret = done.stderr.splitlines()
    assert first.startswith("gradc: error: model.py:12: for loops are not supported")
    assert text == "        for i in range(3):" and caret == "        ^"
    missing = gradc_cli("compile", "model.py:nope", cwd=tmp_path)
    assert missing.returncode == 2 and "no top-level function 'nope'" in missing.stderr
    assert "Traceback" not in done.stderr + missing.stderr


def test_the_example_trains():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import network_function
    finally:
        sys.path.pop(0)
    before, after = network_function.main()
    assert after < 0.2 * before
