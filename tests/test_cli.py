"""The command line through a subprocess: output, exit codes, one-line errors with a caret, no tracebacks."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def gradc(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "gradc", *args], capture_output=True, text=True, env=env,
                          cwd=cwd or ROOT, timeout=120)


def assert_clean_error(result, *words):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    first = result.stderr.splitlines()[0]
    assert first.startswith("gradc: error: "), result.stderr
    for word in words:
        assert word in first, first
    return result.stderr.splitlines()


def caret_column(lines):
    """The column the caret points at, relative to the quoted source line above it."""
    source, caret = lines[1], lines[2]
    indent = len(source) - len(source.lstrip(" "))
    assert caret.strip() == "^"
    return caret.index("^") - indent, source.strip()


def import_file(path):
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compile_prints_the_module():
    result = gradc("compile", "(x + y) * z")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "tests" / "golden" / "add_mul.py").read_text()


def test_compile_to_a_file_that_imports(tmp_path):
    out = tmp_path / "least_squares.py"
    result = gradc("compile", "0.5*sum((X@w - y)**2)", "--wrt", "w", "--shape", "X=n,d", "--shape", "y=n",
                   "--shape", "w=d", "-o", str(out))
    assert result.returncode == 0, result.stderr
    module = import_file(out)
    assert module.INPUTS == ("X", "w", "y") and module.WRT == ("w",)
    rng = np.random.default_rng(0)
    X, w, y = rng.standard_normal((6, 2)), rng.standard_normal(2), rng.standard_normal(6)
    value, grads = module.value_and_grad(X, w, y)
    np.testing.assert_allclose(grads["w"], X.T @ (X @ w - y), rtol=1e-13)
    assert value == pytest.approx(0.5 * np.sum((X @ w - y) ** 2))


def test_compile_reads_a_source_file(tmp_path):
    source = tmp_path / "model.txt"
    source.write_text("h = x * y\nh + exp(x)\n")
    result = gradc("compile", str(source), "-o", str(tmp_path / "m.py"))
    assert result.returncode == 0, result.stderr
    module = import_file(tmp_path / "m.py")
    assert module.gradient(1.0, 2.0) == pytest.approx({"x": 2.0 + np.e, "y": 1.0})


def test_compile_output_is_deterministic():
    first = gradc("compile", "sum(softmax(z) * t)", "--shape", "z=k", "--shape", "t=k").stdout
    assert first and first == gradc("compile", "sum(softmax(z) * t)", "--shape", "z=k", "--shape", "t=k").stdout


def test_check_prints_a_table_and_succeeds():
    result = gradc("check", "x / (x + y)", "--at", "x=-1", "--at", "y=2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    row = next(line for line in lines if line.split() and line.split()[0] == "x")
    assert row.split()[1:3] == ["2", "2"]  # compiled and numeric d/dx = 2, the lecture number
    assert any(line.split() and line.split()[0] == "y" for line in lines)


def test_check_at_random_points_with_shapes():
    result = gradc("check", "sum(softmax(z) * t)", "--shape", "z=k", "--shape", "t=k")
    assert result.returncode == 0, result.stderr
    assert "z[0]" in result.stdout and "t[2]" in result.stdout


def test_ops_lists_the_operations():
    result = gradc("ops")
    assert result.returncode == 0
    for name in ("exp", "log", "sigmoid", "softmax", "logsumexp", "maximum", "sum", "mean"):
        assert name in result.stdout


def test_help_shows_examples():
    result = gradc("--help")
    assert result.returncode == 0
    assert "gradc compile" in result.stdout and "gradc check" in result.stdout


@pytest.mark.parametrize("source, column, words", [
    ("x + exq(y)", 4, ["did you mean 'exp'?"]),
    ("lambda: x", 0, ["lambda"]),
    ("x + y.shape", 4, [".shape"]),
    ("sum(x, dtype=1)", 7, ["axis"]),
    ("exp(x, y)", 0, ["1 argument"]),
    ("x + ", 4, ["syntax"]),
])
def test_parse_error_is_one_line_with_a_caret(source, column, words):
    lines = assert_clean_error(gradc("compile", source), *words)
    assert caret_column(lines) == (column, source.strip())


def test_shape_error_is_one_line_with_a_caret():
    lines = assert_clean_error(gradc("compile", "1 + sum(X@w)", "--shape", "X=n,d", "--shape", "w=k"),
                               "(n, d)", "(k,)", "@")
    assert caret_column(lines) == (8, "1 + sum(X@w)")


def test_error_on_a_later_line_of_a_file(tmp_path):
    source = tmp_path / "model.txt"
    source.write_text("a = x * y\na + exq(y)\n")
    lines = assert_clean_error(gradc("compile", str(source)), "exq")
    assert caret_column(lines) == (4, "a + exq(y)")


@pytest.mark.parametrize("args, words", [
    (["compile", "x*y", "--wrt", "q"], ["'q'"]),
    (["compile", "x*y", "--shape", "x"], ["--shape"]),
    (["check", "x*y", "--at", "x=abc"], ["--at"]),
    (["compile", "x*y", "-o", "/nonexistent/folder/f.py"], []),
])
def test_usage_errors_exit_2_without_traceback(args, words):
    assert_clean_error(gradc(*args), *words)


def test_vector_value_for_a_scalar_input_is_a_clean_error():
    assert_clean_error(gradc("check", "x*y", "--at", "x=1,2"), "x")
