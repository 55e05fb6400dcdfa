"""The command line's stumbles of issue 16, each pinned: bare `gradc`, `gradc check`'s random point, its output
size, kinks and vector outputs, help texts with defaults, comma lists in every --wrt, and --emit jacobian."""
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import gradc
from gradc.cli.main import build_parser, main
from gradc.gradcheck import check, draw, random_point

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("compile", "check", "explain", "render", "fit", "ops")
LSQ = ["0.5*sum((X@w - y)**2)", "--shape", "X=n,d", "--shape", "y=n", "--shape", "w=d"]


def run(capsys, *argv):
    """`gradc ARGV` in this process, with warnings as errors: (exit status, stdout, stderr)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def error_of(capsys, *argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "", (code, out, err)
    assert len(err.splitlines()) == 1 and err.startswith("gradc: error: "), err
    return err[len("gradc: error: "):].rstrip("\n")


# --- bare gradc ------------------------------------------------------------------------------------------

def test_bare_gradc_prints_the_usage_and_the_commands_and_exits_2():
    result = subprocess.run([sys.executable, "-m", "gradc"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("usage: gradc") and "Traceback" not in result.stderr
    listed = [line.split()[0] for line in result.stderr.splitlines() if line.startswith("    ")]
    assert set(COMMANDS) <= set(listed), result.stderr
    assert "gradc COMMAND --help" in result.stderr


# --- check: the random point -----------------------------------------------------------------------------

def test_check_draws_log_inputs_inside_its_domain(capsys):
    code, out, err = run(capsys, "check", "sum(log(x))", "--shape", "x=n")
    assert code == 0 and err == "", err
    assert "drew x from (0.5, 2) (log needs x > 0)" in out.splitlines()
    assert "nan" not in out and out.splitlines()[-1].startswith("OK")


def test_check_leaks_no_runtime_warning_through_the_process():
    result = subprocess.run([sys.executable, "-W", "always", "-m", "gradc", "check", "sum(log(x))", "--shape", "x=n"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr


@pytest.mark.parametrize("source, shapes, line", [
    ("sum(x / y)", ["--shape", "x=n", "--shape", "y=n"], "drew y from ±(0.3, 2) (/ needs y != 0)"),
    ("sum(sqrt(x) + log(x))", ["--shape", "x=n"], "drew x from (0.5, 2) (sqrt needs x > 0, log needs x > 0)"),
    ("log1p(x)", [], "drew x from (-0.5, 2) (log1p needs x > -1)"),
    ("tan(x) * log(x)", [], "drew x from (0.5, 1.2) (tan needs |x| < pi/2, log needs x > 0)"),
])
def test_check_says_where_each_restricted_input_was_drawn(capsys, source, shapes, line):
    code, out, err = run(capsys, "check", source, *shapes)
    assert code == 0, out + err
    assert line in out.splitlines()


def test_check_says_which_inputs_come_from_the_standard_normal(capsys):
    code, out, _ = run(capsys, "check", "sum(x / y)", "--shape", "x=n", "--shape", "y=n")
    assert code == 0 and "drew x from the standard normal" in out.splitlines()


def test_a_given_input_is_not_drawn(capsys):
    code, out, _ = run(capsys, "check", "log(x) * y", "--at", "x=2")
    assert code == 0 and not any(line.startswith("drew x") for line in out.splitlines())


def test_check_redraws_where_a_restricted_op_is_reached_through_others(capsys):
    code, out, err = run(capsys, "check", "sum(log(x - 1))", "--shape", "x=n")
    assert code == 0 and "nan" not in out, out + err
    assert any(line.startswith("(drawn ") and "not finite" in line for line in out.splitlines())


def test_check_says_in_one_line_when_no_draw_is_finite(capsys):
    message = error_of(capsys, "check", "log(x) + log(-x)")
    assert message.startswith("the value or derivative is not finite at any of 8 random points")
    assert message.endswith("give a point where it is, with --at")


def test_random_point_stays_in_the_domains_and_is_reproducible():
    fn = gradc.compile("sum(log(x) + 1 / y)", shapes={"x": (50,), "y": (50,)})
    point = random_point(fn, seed=3)
    assert np.all((0.5 < point["x"]) & (point["x"] < 2)) and np.all(np.abs(point["y"]) > 0.3)
    again = draw(fn, seed=3)
    assert all(np.array_equal(point[k], again.point[k]) for k in point)


# --- check: output size ----------------------------------------------------------------------------------

def test_a_matrix_check_prints_the_worst_elements_and_a_summary(capsys):
    code, out, _ = run(capsys, "check", *LSQ[:1], "--shape", "X=60,50", "--shape", "y=60", "--shape", "w=50")
    lines = out.splitlines()
    assert code == 0 and len(lines) < 25, out
    summary = next(line for line in lines if line.strip().startswith("X:"))
    assert "3000 elements" in summary and "2995 more not shown (--verbose prints them)" in summary
    assert sum(line.startswith("X[") for line in lines) == 5
    assert any(line.strip().startswith("w: 50 elements") for line in lines)
    assert any(line.strip().startswith("y: 60 elements") for line in lines)


def test_verbose_prints_every_element(capsys):
    code, out, _ = run(capsys, "check", *LSQ[:1], "--shape", "X=6,5", "--shape", "y=6", "--shape", "w=5", "--verbose")
    rows = [line for line in out.splitlines() if line[:2] in ("X[", "w[", "y[")]
    assert code == 0 and len(rows) == 30 + 5 + 6
    assert rows[0].startswith("X[0, 0]") and rows[1].startswith("X[0, 1]")  # in order, not worst first


def test_a_scalar_check_reads_as_before(capsys):
    code, out, _ = run(capsys, "check", "x / (x + y)", "--at", "x=-1", "--at", "y=2")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "f = -1.0 at x=-1, y=2" and len(lines) == 5
    assert lines[1].split() == ["input", "compiled", "numeric", "abs", "error", "rel", "error"]
    assert lines[2].split()[:3] == ["x", "2", "2"] and lines[3].split()[:3] == ["y", "1", "1"]


# --- check: kinks -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, at", [("relu(x)", "x=0"), ("abs(x)", "x=0"), ("maximum(x, 1)", "x=1"),
                                        ("sum(relu(x))", "x=0,1,-1")])
def test_a_kink_is_not_differentiable_rather_than_a_mismatch(capsys, source, at):
    shape = ["--shape", "x=3"] if "," in at else []
    code, out, _ = run(capsys, "check", source, "--at", at, *shape)
    assert code == 0, out
    assert "MISMATCH" not in out and "not differentiable at x" in out
    assert "the one-sided differences disagree" in out
    assert out.splitlines()[-1].startswith("OK") and "lies between the one-sided differences" in out


def test_a_steep_smooth_function_is_no_kink(capsys):
    code, out, _ = run(capsys, "check", "exp(5*x) + 1/x", "--at", "x=0.7")
    assert code == 0 and "not differentiable" not in out


class Stub:
    """relu with a wrong gradient, 2, at its kink: outside the one-sided differences 0 and 1."""
    wrt = ("x",)

    def forward(self, x):
        return max(x, 0.0)

    def grad(self, x):
        return {"x": 2.0}


def test_a_gradient_outside_the_one_sided_differences_is_still_wrong():
    (row,) = check(Stub(), {"x": 0.0})
    assert row.kink and (row.left, row.right) == pytest.approx((0.0, 1.0)) and row.relative > 0.4


# --- check: vector outputs --------------------------------------------------------------------------------

def test_check_compares_the_jacobian_of_a_vector_output(capsys):
    code, out, err = run(capsys, "check", "softmax(z)", "--shape", "z=k", "--verbose")
    assert code == 0, err
    rows = [line.split() for line in out.splitlines() if line.startswith("df[")]
    assert len(rows) == 9 and rows[0][0] == "df[0]/dz[0]"
    z = random_point(gradc.compile("softmax(z)", shapes={"z": ("k",)}))["z"]
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(float(rows[0][1]), p[0] * (1 - p[0]), rtol=1e-6)


def test_check_of_a_matrix_output_names_output_and_input_elements(capsys):
    code, out, _ = run(capsys, "check", "A @ x", "--shape", "A=2,3", "--shape", "x=3")
    assert code == 0 and "  A: 12 elements" in out and "  x: 6 elements" in out
    assert any(line.startswith("df[1]/dA[1, ") for line in out.splitlines())


# --- help and defaults ------------------------------------------------------------------------------------

def subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


@pytest.mark.parametrize("command", ["compile", "check", "explain", "ops"])
def test_each_command_has_a_description_and_examples(command):
    parser = subparsers()[command]
    assert parser.description and len(parser.description) > 40
    assert "examples:" in parser.epilog and f"gradc {command} " in parser.epilog + " "


@pytest.mark.parametrize("command", ["compile", "check", "explain", "ops", "render"])
def test_every_flag_shows_its_default(command):
    parser = subparsers()[command]
    formatter = parser._get_formatter()
    for action in parser._actions:
        if action.option_strings and action.dest not in ("help",):
            assert "default" in formatter._expand_help(action), (command, action.option_strings)


def test_check_help_documents_its_exit_status(capsys):
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = capsys.readouterr().out
    assert "exit status:" in out and "not differentiable" in out and "(default: 1e-06)" in out


# --- one list syntax --------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["compile", "check", "explain"])
def test_wrt_takes_a_comma_list(capsys, command):
    base = [command, "sum(w * x) + b", "--shape", "w=d", "--shape", "x=d"]
    listed = run(capsys, *base, "--wrt", "w,b")
    repeated = run(capsys, *base, "--wrt", "w", "--wrt", "b")
    assert listed[0] == 0 and listed == repeated
    if command == "check":  # x is not differentiated
        assert not any(line.startswith("x[") or line.strip().startswith("x:") for line in listed[1].splitlines())


def test_render_wrt_takes_a_comma_list(tmp_path, capsys):
    outputs = []
    for wrt in (["--wrt", "w, b"], ["--wrt", "w", "--wrt", "b"]):
        path = tmp_path / f"{len(outputs)}.dot"
        code, _, err = run(capsys, "render", "w * x + b", *wrt, "-o", path)
        assert code == 0, err
        outputs.append(path.read_text())
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("flag", ["--wrt=,", "--wrt= "])
def test_an_empty_wrt_list_is_a_one_line_error(capsys, flag):
    assert "expected names separated by commas" in error_of(capsys, "compile", "x * y", flag)


def test_an_unknown_name_in_a_wrt_list_is_named(capsys):
    assert "'q'" in error_of(capsys, "compile", "x * y", "--wrt", "x,q")


def test_emit_jacobian_writes_a_module_whose_jacobian_is_the_apis(capsys, rng):
    code, out, err = run(capsys, "compile", "softmax(z) * s", "--shape", "z=k", "--emit", "vjp,jacobian")
    assert code == 0 and err == "", err
    module = gradc.api.load_module(out)
    z = rng.standard_normal(4)
    p = np.exp(z) / np.exp(z).sum()
    jacobian = module.jacobian(z, 1.5)
    np.testing.assert_allclose(jacobian["z"], 1.5 * (np.diag(p) - np.outer(p, p)), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(jacobian["s"], p, rtol=1e-12)
    assert "def vjp(" in out and "for i in np.ndindex((k,)):" in out
