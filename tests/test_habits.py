"""What a JAX, SciPy or PyTorch user types without reading further: each stumble a new user met, gone."""
import numpy as np
import pytest

from gradc.cli.main import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_missing_python_file_is_said_to_be_missing(workdir, capsys):
    code, _, err = run(capsys, "compile", "nosuchfile.py:loss")
    assert code == 2 and err == "gradc: error: no such file: nosuchfile.py\n"
    code, _, err = run(capsys, "compile", "nosuchfile.py")
    assert code == 2 and err == "gradc: error: no such file: nosuchfile.py\n"


def test_a_python_file_without_a_function_name_asks_for_one(workdir, capsys):
    (workdir / "model.py").write_text("import numpy as np\n\n\ndef loss(w):\n    return np.sum(w**2)\n\n\n"
                                      "def helper(x):\n    return x\n")
    code, _, err = run(capsys, "compile", "model.py")
    assert code == 2
    assert err == ("gradc: error: model.py is a Python file: name the function to compile, as model.py:NAME "
                   "(functions: loss, helper)\n")
    assert run(capsys, "compile", "model.py:loss", "--shape", "w=3")[0] == 0


def test_a_file_named_like_the_expression_never_replaces_it(workdir, capsys):
    (workdir / "x").write_text("x * 1000\n")
    code, out, _ = run(capsys, "compile", "x")
    assert code == 0 and "1000" not in out
    code, out, _ = run(capsys, "compile", "./x")  # a path is a file
    assert code == 0 and "1000.0" in out


def test_fit_takes_newton_and_initial_values_as_lists(workdir, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    np.savez(workdir / "train.npz", X=X, y=X @ np.array([2.0, -1.0]) + 0.5)
    code, out, _ = run(capsys, "fit", "0.5*sum((X @ w + b - y)**2)", "--data", "train.npz", "--init", "w=0,0",
                       "--method", "newton")
    assert code == 0 and out.startswith("gtol: ") and "\n1 updates, final loss" in out
    assert "w (2,) = [ 2. -1.]" in out and "b () = 0.5" in out
    code, _, err = run(capsys, "fit", "0.5*sum((X @ w - y)**2)", "--data", "train.npz", "--init", "w=0,nan")
    assert code == 2 and err == "gradc: error: --init w=0,nan: the value must be finite\n"


def test_a_python_error_shows_the_source_line_with_a_caret_as_the_command_line_does(capsys):
    import gradc
    with pytest.raises(gradc.ParseError) as caught:
        gradc.compile("sum(x) + exq(y)")
    assert str(caught.value) == "unknown function 'exq': did you mean 'exp'? (column 10)\n    sum(x) + exq(y)\n" \
                                "             ^"
    code, _, err = run(capsys, "compile", "sum(x) + exq(y)")
    assert code == 2 and err == f"gradc: error: {caught.value}\n"  # the same three lines


def test_fit_infers_a_parameters_shape_from_the_data_and_skips_arrays_it_does_not_use(workdir, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    np.savez(workdir / "train.npz", X=X, y=X @ np.array([1.0, -2.0, 0.5]) + 0.25, X_test=X[:4])
    code, out, _ = run(capsys, "fit", "0.5*sum((X @ w + b - y)**2)", "--data", "train.npz", "--method", "newton")
    assert code == 0
    assert out.startswith("skipping data X_test: the source does not use it\n"
                          "inferred from the data: w (3,), b scalar; give --shape to choose another\n")
    assert "w (3,) = [ 1.  -2.   0.5]" in out and "b () = 0.25" in out


def test_a_shape_for_a_name_the_source_does_not_use_is_refused_on_the_command_line(workdir, capsys):
    for command in (["compile"], ["render", "-o", "a.svg"]):
        code, _, err = run(capsys, *command, "sum(X@W1)", "--shape", "X=n,d", "--shape", "W1=d", "--shape", "W2=d")
        assert code == 2
        assert err == "gradc: error: a shape is given for W2, which is not an input (inputs: X, W1)\n"
    assert not (workdir / "a.svg").exists()
