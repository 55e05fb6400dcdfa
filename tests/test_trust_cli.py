"""Issue 11, the command line and the descent driver: no lost file, no traceback, no silent nonsense.

Each test runs gradc as a hostile user would, through `gradc.cli.main` (in process: an unexpected
exception fails the test with its traceback) or `gradc.minimize`, and asserts the exact outcome.
"""
import math
import os
import zipfile

import numpy as np
import pytest

import gradc
from gradc.gradcheck import compare, random_point
from gradc.cli.main import main
from gradc.optim.descent import DescentError
from gradc.frontend.pyfunc import SAVE_AS
from gradc.optim.updates import Adam, MethodError, Momentum, get_method
from gradc.optim.lr_schedules import Cosine, ScheduleError, StepDecay

LSQ = "sum((X @ w - y)**2)"
LSQ_SHAPES = ["--shape", "X=n,d", "--shape", "w=d"]
MODEL = "import numpy as np\n\n\ndef loss(w):\n    return np.sum(w ** 2)\n"


def run(capsys, *argv):
    """`gradc ARGV` in this process: (exit status, stdout, stderr)."""
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def error_of(capsys, *argv):
    """The one `gradc: error:` line that `gradc ARGV` must print, exiting 2, with nothing on stdout."""
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "", (code, out, err)
    assert len(err.splitlines()) == 1 and err.startswith("gradc: error: "), err
    return err[len("gradc: error: "):].rstrip("\n")


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A temporary working folder holding train.npz: X (4, 2) and y (4,)."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(11)
    np.savez("train.npz", X=rng.standard_normal((4, 2)), y=rng.standard_normal(4))
    return tmp_path


class Bowl:
    """f(w) = sum((w - 1)**2): anything with value_and_grad is a function minimize can drive."""

    def value_and_grad(self, w):
        return float(np.sum((w - 1.0) ** 2)), {"w": 2.0 * (w - 1.0)}


# --- lost data: files written over ---------------------------------------------------------------------

def test_compile_refuses_to_write_over_its_model_file(folder, capsys):
    (folder / "model.py").write_text(MODEL)
    message = error_of(capsys, "compile", "model.py:loss", "--shape", "w=3", "-o", "model.py")
    assert message == "-o model.py is the input file model.py: refusing to write over it"
    assert (folder / "model.py").read_text() == MODEL


def test_compile_refuses_to_write_over_its_expression_file_under_any_name(folder, capsys):
    (folder / "expr.txt").write_text("sum(x**2)\n")
    os.symlink("expr.txt", "link.txt")
    for output in ("expr.txt", "./expr.txt", str(folder / "expr.txt"), "link.txt"):
        message = error_of(capsys, "compile", "expr.txt", "-o", output)
        assert message == f"-o {output} is the input file expr.txt: refusing to write over it"
    assert (folder / "expr.txt").read_text() == "sum(x**2)\n"
    assert run(capsys, "compile", "expr.txt", "-o", "module.py")[0] == 0  # another name is written


def test_fit_refuses_to_write_params_over_its_data(folder, capsys):
    before = (folder / "train.npz").read_bytes()
    message = error_of(capsys, "fit", LSQ, *LSQ_SHAPES, "--data", "train.npz", "-o", "train")
    assert message == "-o train.npz is the input file train.npz: refusing to write over it"
    assert (folder / "train.npz").read_bytes() == before


def test_fit_saves_parameters_named_like_savez_arguments(folder, capsys):
    argv = ["--shape", "X=n,d", "--shape", "P=d", "--data", "train.npz", "--max-iter", "3"]
    source = "sum((X @ P - y)**2) + (Q - 3)**2"
    code, out, _ = run(capsys, "fit", source.replace("P", "file").replace("Q", "allow_pickle"),
                       *[a.replace("P", "file") for a in argv], "-o", "odd.npz")
    assert code == 0 and out.endswith("saved file, allow_pickle to odd.npz\n")
    assert run(capsys, "fit", source.replace("P", "w").replace("Q", "b"), *[a.replace("P", "w") for a in argv],
               "-o", "plain.npz")[0] == 0
    with np.load("odd.npz") as odd, np.load("plain.npz") as plain:
        assert sorted(odd.files) == ["allow_pickle", "file"]
        assert np.array_equal(odd["file"], plain["w"]) and odd["allow_pickle"] == plain["b"]
        assert odd["file"].shape == (2,) and odd["allow_pickle"].shape == ()


def test_fit_checks_the_output_path_before_training(folder, capsys):
    message = error_of(capsys, "fit", LSQ, *LSQ_SHAPES, "--data", "train.npz", "-o", "/missing/dir/p.npz")
    assert message == "-o /missing/dir/p.npz: no folder /missing/dir"  # and nothing trained: stdout is empty
    os.mkdir("taken.npz")
    assert error_of(capsys, "fit", LSQ, *LSQ_SHAPES, "--data", "train.npz", "-o", "taken") == \
        "-o taken.npz is a directory"


def test_fit_reports_the_path_it_writes(folder, capsys):
    code, out, _ = run(capsys, "fit", LSQ, *LSQ_SHAPES, "--data", "train.npz", "--max-iter", "2", "-o", "params")
    assert code == 0 and out.endswith("saved w to params.npz\n")
    assert not os.path.exists("params") and np.load("params.npz")["w"].shape == (2,)


def test_fit_checks_the_plot_before_training(folder, capsys):
    argv = ["fit", LSQ, *LSQ_SHAPES, "--data", "train.npz", "--plot"]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert error_of(capsys, *argv, "loss.png") == "--plot needs matplotlib: pip install 'gradc[plot]'"
        return
    assert error_of(capsys, *argv, "loss.xyz").startswith("--plot loss.xyz: matplotlib cannot write .xyz files")
    assert error_of(capsys, *argv, "train.npz").startswith("--plot train.npz: matplotlib cannot write .npz")
    code, out, _ = run(capsys, *argv, "loss", "--max-iter", "2")
    assert code == 0 and out.endswith("saved the loss curve to loss.png\n") and os.path.getsize("loss.png") > 0


def test_result_plot_returns_the_path_it_writes(tmp_path):
    pytest.importorskip("matplotlib")
    result = gradc.minimize(Bowl(), {"w": np.zeros(2)}, max_iter=3)
    assert result.plot(str(tmp_path / "curve")) == str(tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 0


# --- lost data: parameters that are not finite, runs that never stop -----------------------------------

def test_minimize_rejects_an_infinite_lr():
    with pytest.raises(ScheduleError, match=r"^schedule parameter c0 must be a positive finite number, got inf$"):
        gradc.minimize(Bowl(), {"w": np.zeros(2)}, lr=float("inf"))


def test_minimize_keeps_finite_params_when_an_update_overflows():
    class Exp:  # exp(w) is flat at -inf: loss and gradient stay finite at an infinite parameter
        def value_and_grad(self, w):
            return float(np.exp(w)), {"w": float(np.exp(w))}
    result = gradc.minimize(Exp(), {"w": 1.0}, lr=1e308, max_iter=5)
    assert result.status == "diverged" and result.params == {"w": 1.0}
    assert result.reason == "diverged at step 1 with lr=1e+308: parameter w is not finite; kept the params of step 0"
    assert result.divergence == {"step": 1, "lr": 1e308, "loss": None, "nonfinite": ["w"]}


@pytest.mark.parametrize("option, value, message", [
    ("max_iter", float("nan"), "max_iter must be a whole number >= 0, got nan"),
    ("max_iter", float("inf"), "max_iter must be a whole number >= 0, got inf"),
    ("max_iter", -1, "max_iter must be a whole number >= 0, got -1"),
    ("max_iter", 2.5, "max_iter must be a whole number >= 0, got 2.5"),
    ("max_iter", "10", "max_iter must be a whole number >= 0, got '10'"),
    ("epochs", float("nan"), "epochs must be a whole number >= 0, got nan"),
    ("epochs", 1.5, "epochs must be a whole number >= 0, got 1.5"),
    ("batch_size", float("nan"), "batch_size must be a whole number >= 1, got nan"),
    ("batch_size", float("inf"), "batch_size must be a whole number >= 1, got inf"),
    ("batch_size", True, "batch_size must be a whole number >= 1, got True"),
    ("tol", float("nan"), "tol must be a finite number >= 0, got nan"),
    ("tol", -1e-6, "tol must be a finite number >= 0, got -1e-06"),
    ("gtol", "small", "gtol must be a finite number >= 0, got 'small'"),
    ("seed", -1, "seed must be None or a whole number >= 0, got -1"),
    ("seed", "abc", "seed must be None or a whole number >= 0, got 'abc'"),
    ("seed", 1.5, "seed must be None or a whole number >= 0, got 1.5"),
    ("callback", 3, "callback must be callable, got 3"),
    ("progress", "yes", "progress must be True, False or None, got 'yes'"),
])
def test_minimize_validates_numeric_options_up_front(option, value, message):
    data = {"X": np.ones((4, 1))}

    class WithData(Bowl):
        def value_and_grad(self, w, X):
            return super().value_and_grad(w)
    with pytest.raises(DescentError) as error:
        gradc.minimize(WithData(), {"w": np.zeros(2)}, data, **{option: value})
    assert str(error.value) == message


@pytest.mark.parametrize("params, data, message", [
    ({"w": "abc"}, None, "parameter 'w' has dtype <U3: minimize takes real numbers"),
    ({"w": np.array([1j, 2.0])}, None, "parameter 'w' has dtype complex128: minimize takes real numbers"),
    ({"w": None}, None, "parameter 'w' has dtype object: minimize takes real numbers"),
    ({"w": np.array([np.nan, 0.0])}, None, "the initial value of 'w' is not finite"),
    ([0.0, 1.0], None, "minimize needs a dict of at least one parameter to optimize, got [0.0, 1.0]"),
    ({"w": np.zeros(2)}, {"X": ["a", "b"]}, "data 'X' has dtype <U1: minimize takes real numbers"),
    ({"w": np.zeros(2)}, {"X": np.array([1 + 1j])}, "data 'X' has dtype complex128: minimize takes real numbers"),
    ({"w": np.zeros(2)}, [np.ones(2)], "data must be a dict of arrays, got [array([1., 1.])]"),
])
def test_minimize_rejects_params_and_data_that_are_not_real_numbers(params, data, message):
    with pytest.raises(DescentError) as error:
        gradc.minimize(Bowl(), params, data)
    assert str(error.value) == message


@pytest.mark.parametrize("value", ["fast", None, float("nan"), float("inf"), -0.1, np.ones(2), 1j])
def test_minimize_checks_what_an_lr_callable_returns(value):
    with pytest.raises(ScheduleError) as error:
        gradc.minimize(Bowl(), {"w": np.zeros(2)}, lr=lambda t: value, max_iter=3)
    assert str(error.value) == f"lr schedule gave {value!r} for update 0: a learning rate is a finite number >= 0"


def test_minimize_accepts_an_lr_callable_that_reaches_zero():
    result = gradc.minimize(Bowl(), {"w": np.zeros(2)}, lr=lambda t: 0.25 if t < 2 else 0.0, max_iter=4)
    assert result.lr_history == [0.25, 0.25, 0.0, 0.0] and result.params["w"].tolist() == [0.75, 0.75]


@pytest.mark.parametrize("make, message", [
    (lambda: StepDecay(1.0, 0.5, float("inf")), "step schedule needs a whole period T >= 1, got T=inf"),
    (lambda: StepDecay(1.0, 0.5, "ten"), "schedule parameter T must be a number, got 'ten'"),
    (lambda: StepDecay(1.0, float("nan"), 3), "step schedule needs 0 < c < 1, got c=nan"),
    (lambda: Cosine(1.0, float("nan")), "cosine schedule needs a whole period T >= 1, got T=nan"),
    (lambda: Cosine(float("inf"), 10), "schedule parameter c0 must be a positive finite number, got inf"),
])
def test_schedules_refuse_nan_inf_and_text(make, message):
    with pytest.raises(ScheduleError) as error:
        make()
    assert str(error.value) == message


@pytest.mark.parametrize("make, message", [
    (lambda: Momentum(beta="high"), "momentum needs a number for beta, got beta='high'"),
    (lambda: Momentum(beta=float("nan")), "momentum needs 0 <= beta < 1, got beta=nan"),
    (lambda: Adam(eps=0.0), "adam needs a finite eps > 0, got eps=0.0"),
    (lambda: Adam(beta2=1.0), "adam needs 0 <= beta2 < 1, got beta2=1.0"),
    (lambda: get_method(["gd"]), "unknown method ['gd']; use one of gd, momentum, nesterov, adam"),
])
def test_method_settings_are_checked(make, message):
    with pytest.raises(MethodError) as error:
        make()
    assert str(error.value) == message


def test_scipy_adapter_refuses_complex_params_instead_of_cutting_them():
    from gradc.optim.scipy_adapter import FlatObjective
    with pytest.raises(gradc.GradcError) as error:
        FlatObjective(Bowl(), {"w": np.array([1 + 1j, 2.0])})
    assert str(error.value) == "parameter 'w' has dtype complex128: scipy_minimize takes real numbers"


# --- data files: one line, exit 2, never a silent cast -------------------------------------------------

def _write_bad_data(kind):
    """Writes x.npz, a data file of the given kind of wrongness, in the working folder."""
    if kind == "empty":
        np.savez("x.npz")
    elif kind == "zip member":
        with zipfile.ZipFile("x.npz", "w") as archive:
            archive.writestr("x.npy", "not an array")
    elif kind == "text":
        with open("x.npz", "w") as file:
            file.write("x = 1, 2\n")
    elif kind == "truncated":
        np.savez("whole.npz", x=np.ones(2))
        with open("whole.npz", "rb") as whole, open("x.npz", "wb") as part:
            part.write(whole.read()[:60])
    else:
        values = {"complex": np.array([1 + 2j, 3j]), "strings": np.array(["a", "b"]),
                  "datetime": np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"),
                  "object": np.array([1.0, "a"], dtype=object), "records": np.zeros(2, dtype=[("a", "f8")])}
        np.savez("x.npz", x=values[kind])


BAD_DATA = {
    "empty": "{label} holds no arrays",
    "zip member": "{label}: member 'x' is not a NumPy array (.npy data)",
    "text": "x.npz is not an .npz archive of named arrays (np.savez writes one)",
    "truncated": "cannot read {label}: File is not a zip file",
    "complex": "x in {label} has dtype complex128 (complex): gradc takes real numbers",
    "strings": "x in {label} has dtype <U1 (not numbers): gradc takes real numbers",
    "datetime": "x in {label} has dtype datetime64[D] (not numbers): gradc takes real numbers",
    "object": "cannot read {label}: Object arrays cannot be loaded when allow_pickle=False",
    "records": "x in {label} has dtype [('a', '<f8')] (not numbers): gradc takes real numbers",
}
COMMANDS = {
    "check": ["check", "sum(x**2)", "--shape", "x=2", "--at-file", "x.npz"],
    "render": ["render", "sum(x**2)", "--shape", "x=2", "--at-file", "x.npz", "-o", "out.dot"],
    "fit": ["fit", "sum((x - w)**2)", "--shape", "w=n", "--data", "x.npz", "-o", "p.npz"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", BAD_DATA)
def test_bad_data_files_are_one_line_errors(folder, capsys, command, kind):
    _write_bad_data(kind)
    label = "data file x.npz" if command == "fit" else "x.npz"
    assert error_of(capsys, *COMMANDS[command]) == BAD_DATA[kind].format(label=label)
    assert not os.path.exists("out.dot") and not os.path.exists("p.npz")


@pytest.mark.parametrize("command", COMMANDS)
def test_dev_null_is_not_a_data_file(folder, capsys, command):
    argv = [arg if arg != "x.npz" else os.devnull for arg in COMMANDS[command]]
    assert error_of(capsys, *argv) == f"{os.devnull} is not an .npz archive of named arrays (np.savez writes one)"


def test_whole_and_boolean_data_are_still_real_numbers(folder, capsys):
    np.savez("x.npz", x=np.array([1, 2]), y=np.array([True, False]))
    code, out, _ = run(capsys, "check", "sum(x * y)", "--shape", "x=2", "--shape", "y=2", "--at-file", "x.npz")
    assert code == 0 and out.startswith("f = 1.0 at x=array(2,), y=array(2,)")


@pytest.mark.parametrize("content, message", [
    ("complex", "w.npy has dtype complex128 (complex): gradc takes real numbers"),
    ("npz", "w.npy is not an .npy file of one array (np.save writes one)"),
    ("text", "w.npy is not an .npy file of one array (np.save writes one)"),
])
def test_fit_init_files_must_be_real_npy_arrays(folder, capsys, content, message):
    if content == "complex":
        np.save("w.npy", np.array([1j, 2.0]))
    elif content == "npz":
        np.savez("w.npz", w=np.ones(2))
        os.rename("w.npz", "w.npy")
    else:
        (folder / "w.npy").write_text("1, 2\n")
    assert error_of(capsys, "fit", LSQ, *LSQ_SHAPES, "--data", "train.npz", "--init", "w=w.npy") == message


# --- flags: nan, inf, negatives and text ---------------------------------------------------------------

@pytest.mark.parametrize("flag, message", [
    (["--init", "w=normal:abc"], "--init w=normal:abc: use zeros, normal, normal:STD, a number, values like 1,2,3 or FILE.npy"),
    (["--init", "w=normal:nan"], "--init w=normal:nan: the value must be finite"),
    (["--init", "w=normal:-1"], "--init w=normal:-1: the standard deviation must be >= 0"),
    (["--init", "w=inf"], "--init w=inf: the value must be finite"),
    (["--init", "w=zeros:1"], "--init w=zeros:1: use zeros, normal, normal:STD, a number, values like 1,2,3 or FILE.npy"),
    (["--lr", "step:1,0.5,inf"], "step schedule needs a whole period T >= 1, got T=inf"),
    (["--lr", "step:1,0.5,nan"], "step schedule needs a whole period T >= 1, got T=nan"),
    (["--lr", "cosine:1,nan"], "cosine schedule needs a whole period T >= 1, got T=nan"),
    (["--lr", "inf"], "schedule parameter c0 must be a positive finite number, got inf"),
    (["--lr", "polynomial:1,inf"], "schedule parameter alpha must be a positive finite number, got inf"),
    (["--seed", "-1"], "argument --seed: expected a whole number >= 0, got '-1'"),
    (["--batch-size", "0"], "argument --batch-size: expected a whole number >= 1, got '0'"),
    (["--epochs", "nan"], "argument --epochs: expected a whole number >= 0, got 'nan'"),
    (["--max-iter", "-1"], "argument --max-iter: expected a whole number >= 0, got '-1'"),
    (["--tol", "nan"], "argument --tol: expected a finite number >= 0, got 'nan'"),
    (["--gtol", "inf"], "argument --gtol: expected a finite number >= 0, got 'inf'"),
])
def test_fit_flags_are_one_line_errors(folder, capsys, flag, message):
    assert error_of(capsys, "fit", LSQ, *LSQ_SHAPES, "--data", "train.npz", *flag) == message


@pytest.mark.parametrize("flag, message", [
    ("--eps=0", "argument --eps: expected a finite number > 0, got '0'"),
    ("--eps=-1e-6", "argument --eps: expected a finite number > 0, got '-1e-6'"),
    ("--eps=nan", "argument --eps: expected a finite number > 0, got 'nan'"),
    ("--rtol=nan", "argument --rtol: expected a finite number >= 0, got 'nan'"),
    ("--seed=-1", "argument --seed: expected a whole number >= 0, got '-1'"),
    ("--at=y=1", "a value is given for y, which is not an input (inputs: x)"),
])
def test_check_flags_are_one_line_errors(capsys, flag, message):
    assert error_of(capsys, "check", "sum(x**2)", "--shape", "x=2", flag) == message


def test_check_refuses_a_shape_too_big_to_allocate_or_to_difference(capsys):
    # 711 PiB: more than any address space holds, so no overcommit setting lets the allocation through.
    message = error_of(capsys, "check", "sum(x)", "--shape", "x=100000000000000000")
    assert message.startswith("cannot make a random value for x of shape (100000000000000000,): Unable to allocate")
    assert error_of(capsys, "check", "sum(x)", "--shape", "x=200000") == (
        "the check would difference 200000 entries, two evaluations of the function each (the limit is 100000): "
        "give smaller sizes, or fewer inputs with --wrt")


def test_check_api_refuses_a_zero_step_and_a_bad_seed():
    fn = gradc.compile("x**2")
    with pytest.raises(gradc.GradcError, match=r"^eps must be a finite number > 0, got 0$"):
        compare(fn, {"x": 1.0}, eps=0)
    with pytest.raises(gradc.GradcError, match=r"^seed must be a whole number >= 0, got -1$"):
        random_point(fn, seed=-1)


# --- source files: encodings and binaries --------------------------------------------------------------

def test_model_file_in_latin_1_is_read_in_its_declared_encoding(folder, capsys):
    (folder / "model.py").write_bytes(b"# -*- coding: latin-1 -*-\nimport numpy as np\n\n\ndef loss(w):\n"
                                      b"    # co\xfbt\n    return np.sum(w ** 2) + exq(w)\n")
    code, out, err = run(capsys, "compile", "model.py:loss", "--shape", "w=3")
    assert code == 2 and out == "" and err.startswith("gradc: error: model.py:7: unknown function 'exq'")
    (folder / "model.py").write_bytes((folder / "model.py").read_bytes().replace(b" + exq(w)", b""))
    code, out, _ = run(capsys, "compile", "model.py:loss", "--shape", "w=3")
    assert code == 0 and "def value_and_grad(w):" in out


def test_expression_file_with_a_byte_order_mark(folder, capsys):
    (folder / "expr.txt").write_bytes(b"\xef\xbb\xbfsum(x**2)\r\n")
    code, out, _ = run(capsys, "compile", "expr.txt", "--shape", "x=n")
    assert code == 0 and "from `sum(x**2)`" in out


@pytest.mark.parametrize("name, content, message", [
    ("expr.txt", bytes(range(256)), "expr.txt is a binary file (it holds NUL bytes), not source text"),
    ("model.py", b"def loss(w):\n    return w\x00\n", "model.py is a binary file (it holds NUL bytes), not source text"),
    ("expr.txt", b"x + y  # caf\xe9\n", f"cannot read expr.txt: byte 12 (0xe9) is not UTF-8 text; {SAVE_AS}"),
    ("model.py", b"def loss(w):\n\n    return w  # caf\xe9\n",
     f"cannot read model.py: byte 33 (0xe9) is not UTF-8 text; {SAVE_AS}"),
    ("model.py", b"# coding: klingon\ndef loss(w):\n    return w\n",
     f"cannot read model.py: unknown encoding: klingon; {SAVE_AS}"),
])
def test_undecodable_source_files_are_one_line_errors(folder, capsys, name, content, message):
    (folder / name).write_bytes(content)
    source = "model.py:loss" if name == "model.py" else name
    assert error_of(capsys, "compile", source) == message


# --- the error line itself -----------------------------------------------------------------------------

@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_write_error_without_a_filename_says_no_none(capsys):
    assert error_of(capsys, "compile", "x*y", "-o", "/dev/full") == "No space left on device"


def test_fit_still_trains_and_saves(folder, capsys):
    code, out, _ = run(capsys, "fit", LSQ, *LSQ_SHAPES, "--data", "train.npz", "--lr", "step:0.1,0.5,5",
                       "--max-iter", "20", "--seed", "3", "--init", "w=normal:0.5", "-o", "p.npz")
    assert code == 0 and out.startswith("max_iter: reached max_iter=20 updates without converging")
    assert "\n20 updates, final loss " in out
    with np.load("p.npz") as saved:
        assert saved.files == ["w"] and math.isfinite(float(saved["w"] @ saved["w"]))

