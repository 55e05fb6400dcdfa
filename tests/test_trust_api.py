"""Issue 11, the API items: values that are not real numbers, an input named `self`, pictures that would take
Graphviz minutes, files left in the temp folder, and compiling in threads. Each a named regression test."""
import argparse
import inspect
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import graphviz
import numpy as np
import pytest

import gradc
from gradc import pipeline
from gradc.errors import GradcError, ShapeError
from gradc.api import load_module
from gradc.cli.render import add_render_parser
from gradc.viz.layout import write
from gradc.viz.render import MAX_NODES, RenderError, render

ROOT = Path(__file__).resolve().parent.parent
HAVE_DOT = shutil.which("dot") is not None
HAVE_PROC = os.path.isdir("/proc/self")
# A value used by 400 operations, each feeding a chain: dot needs minutes for its crossings (measured: 200 take 9 s).
SLOW_DOT = "digraph { rankdir=LR\n" + "\n".join(f"x -> p{k}; c{k} -> p{k}; p{k} -> s{k}; s{k - 1} -> s{k}"
                                                for k in range(1, 400)) + "\n}"


@pytest.fixture
def quadratic():
    """sum(x**2) + a*b with x: (n,), and a point for it."""
    return gradc.compile("sum(x**2) + a*b", shapes={"x": ("n",)}), {"x": np.array([1.0, 2.0]), "a": 3.0, "b": 4.0}


def refused(call, match, kind=GradcError):
    """The GradcError `call()` raises, with warnings as errors: a ComplexWarning would mean a value was cut."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(kind, match=match) as info:
            call()
    return info.value


# 1. Complex inputs are refused by name, not cut to their real part with a ComplexWarning

def test_a_complex_array_input_is_refused_by_name(quadratic):
    fn, point = quadratic
    z = {**point, "x": np.array([1.0 + 2.0j, 2.0])}
    for method in (fn.forward, fn.value_and_grad, fn.grad, fn.hessian):
        error = refused(lambda: method(**z), r"^x must hold real numbers, not an array of complex128$")
        assert type(error) is GradcError
    refused(lambda: fn.jvp({"x": np.ones(2)}, **z), "^x must hold real numbers")  # a derived variant module
    refused(lambda: fn.forward(**{**point, "x": [1j, 2.0]}), "^x must hold real numbers, not an array of complex")


def test_a_numpy_complex_scalar_is_refused_even_with_no_imaginary_part(quadratic):
    fn, point = quadratic
    for value in (np.complex128(3.0), np.complex64(3.0), np.array(3.0 + 0.0j), 3.0 + 0.0j):
        error = refused(lambda: fn.value_and_grad(**{**point, "a": value}), r"^a must be a real number, not ")
        assert repr(value)[:20] in str(error)


def test_the_standalone_module_refuses_complex_with_plain_exceptions(quadratic):
    fn, point = quadratic
    assert "import gradc" not in fn.source
    module = {}
    exec(compile(fn.source, "standalone.py", "exec"), module)
    with pytest.raises(TypeError, match="^x must hold real numbers, not an array of complex128$"):
        module["value_and_grad"](np.array([1j, 2.0]), 3.0, 4.0)
    with pytest.raises(TypeError, match=r"^b must be a real number, not np\.complex128\(4\+1j\)$"):
        module["forward"](np.ones(2), 3.0, np.complex128(4 + 1j))


def test_real_inputs_of_every_type_give_the_float_result(quadratic):
    fn, point = quadratic
    value, grads = fn.value_and_grad(**point)
    assert value == 17.0 and grads["a"] == 4.0 and grads["b"] == 3.0
    np.testing.assert_array_equal(grads["x"], [2.0, 4.0])
    for x in ([1, 2], (1.0, 2.0), np.array([1, 2], dtype=np.int8), np.array([1, 2], dtype=np.float32),
              np.array([1.0, 2.0]).astype(">f8"), np.array([1, 2], dtype=np.uint16)):
        for a in (3, np.float64(3.0), np.float32(3.0), np.int64(3), np.array(3.0), np.array(3, dtype=np.uint8)):
            got, got_grads = fn.value_and_grad(x=x, a=a, b=np.int32(4))
            assert got == 17.0 and type(got_grads["a"]) is float and got_grads["a"] == 4.0
            assert got_grads["x"].dtype == np.float64
            np.testing.assert_array_equal(got_grads["x"], [2.0, 4.0])
    assert fn.forward(x=np.array([True, True]), a=True, b=False) == 2.0


def test_a_float_array_is_not_copied_on_entry():
    fn = gradc.compile("x", shapes={"x": ("n",)})
    module = load_module(fn.source)
    x = np.array([1.0, 2.0])
    inputs = vars(module)["_inputs"]
    assert inputs(x)[0] is x  # float64 already: no conversion, no copy
    assert inputs([1, 2])[0].dtype == np.float64


# 2. Values that are not numbers: a GradcError naming what was wrong, not a traceback from inside NumPy

@pytest.mark.parametrize("value, shown", [(None, "None"), (1j, "1j"), ("abc", "'abc'"), ("1.5", "'1.5'"),
                                          ({"x": 1}, "{'x': 1}")])
def test_a_scalar_that_is_not_a_real_number_is_a_gradc_error(quadratic, value, shown):
    fn, point = quadratic
    for method in (fn.forward, fn.value_and_grad):
        error = refused(lambda: method(**{**point, "a": value}), "^a must be a real number, not ")
        assert str(error) == f"a must be a real number, not {shown}"


@pytest.mark.parametrize("value, shown", [(None, "None"), ("abc", "'abc'"), (["a", "b"], "an array of <U1"),
                                          ([1.0, None], "an array of object"),
                                          (np.array(["2020-01-01"], dtype="M8[D]"), "an array of datetime64[D]")])
def test_an_array_that_is_not_real_numbers_is_a_gradc_error(quadratic, value, shown):
    fn, point = quadratic
    error = refused(lambda: fn.forward(**{**point, "x": value}), "^x must hold real numbers")
    assert str(error) == f"x must hold real numbers, not {shown}"


def test_a_ragged_list_is_a_gradc_error_naming_the_input(quadratic):
    fn, point = quadratic
    refused(lambda: fn.value_and_grad(**{**point, "x": [[1.0, 2.0], [3.0]]}), "^x is not an array of numbers: ")


def test_an_array_for_a_scalar_input_is_a_shape_error_naming_it(quadratic):
    fn, point = quadratic
    error = refused(lambda: fn.forward(**{**point, "a": np.ones(2)}), r"^a has shape \(2,\); expected a scalar",
                    ShapeError)
    assert "declare its shape" in str(error)


def test_tangents_that_are_not_a_dict_of_arrays_are_gradc_errors(quadratic):
    fn, point = quadratic
    refused(lambda: fn.hvp([1.0, 2.0], **point), r"^the vectors are a dict, input name -> array \(wrt: x, a, b\), "
                                                  r"not list$")
    refused(lambda: fn.jvp(None, **point), "^the tangents are a dict, .* not NoneType$")
    refused(lambda: fn.jvp(np.ones(2), **point), "not ndarray$")
    refused(lambda: fn.hvp({"x": ["a", "b"]}, **point), "^the vector for x must be a real number or an array")
    refused(lambda: fn.jvp({"a": None}, **point), "^the tangent for a must be .*, not None$")
    refused(lambda: fn.hvp({"x": np.array([1j, 0.0])}, **point), "not an array of complex128$")
    refused(lambda: fn.vjp(None, **point), "^the cotangent must be .*, not None$")
    refused(lambda: fn.vjp(1j, **point), "^the cotangent must be .*, not 1j$")
    refused(lambda: fn.jvp({1: 1.0}, **point), "^tangent for 1: not differentiated")


def test_list_tangents_inside_the_dict_are_arrays(quadratic):
    fn, point = quadratic
    hvp = fn.hvp({"x": [1, 0]}, **point)
    np.testing.assert_array_equal(hvp["x"], [2.0, 0.0])
    assert (hvp["a"], hvp["b"]) == (0.0, 0.0)
    assert fn.jvp({"x": [1, 1], "a": 1}, **point)[1] == 2 * 1 + 2 * 2 + 4.0


def test_jacobian_with_a_missing_input_is_a_gradc_error():
    fn = gradc.compile("exp(x) * a", shapes={"x": ("n",)})
    refused(lambda: fn.jacobian(x=np.ones(2)), "^missing input a")


def test_render_at_values_that_are_not_numbers_are_gradc_errors(quadratic):
    fn, point = quadratic
    refused(lambda: fn.render(at={**point, "x": "abc"}), "^the value of x must be .*, not 'abc'$")
    refused(lambda: fn.render(at={**point, "a": None}), "^the value of a must be .*, not None$")
    refused(lambda: fn.render(at={**point, "a": np.complex128(3.0)}), "^the value of a must be .*complex128")
    refused(lambda: fn.render(at={**point, "x": np.array([1j, 2.0])}), "not an array of complex128$")
    assert "-> " in fn.render(at={**point, "x": [1, 2]}).source


def test_render_at_file_with_complex_values_is_refused(tmp_path):
    np.savez(tmp_path / "point.npz", x=np.array([1.0 + 1j, 2.0]))
    parser = argparse.ArgumentParser()
    add_render_parser(parser.add_subparsers())
    args = parser.parse_args(["render", "sum(x * x)", "--shape", "x=n", "--at-file", str(tmp_path / "point.npz"),
                              "-o", str(tmp_path / "p.dot")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(GradcError, match=r"\bx\b.*complex"):
            args.run(args)
    assert not (tmp_path / "p.dot").exists()


def test_render_at_that_is_not_a_dict_is_a_gradc_error(quadratic):
    fn, _ = quadratic
    refused(lambda: fn.render(at=[1.0, 2.0]), r"^at is a dict, input name -> value, not list$", RenderError)


@pytest.mark.parametrize("wrt, message", [(5.0, "^wrt is an input name or position, or a list of them, not 5.0$"),
                                          ([1.5], r"^wrt names inputs by strings or positions \(ints\), not 1.5$"),
                                          ([True], r"^wrt names inputs by strings or positions \(ints\), not True$"),
                                          ([["x"]], r"^wrt names inputs by strings or positions \(ints\), "
                                                    r"not \['x'\]$")])
def test_wrt_that_is_not_names_is_a_gradc_error(wrt, message):
    refused(lambda: gradc.compile("x * y", wrt=wrt), message)


def test_save_to_a_missing_folder_is_a_gradc_error(tmp_path):
    fn = gradc.compile("x * y")
    refused(lambda: fn.save(tmp_path / "missing" / "f.py"), r"^cannot write '.*f\.py': No such file or directory$")


# 3. An input named `self`

def test_an_input_named_self_compiles_and_every_method_runs():
    fn = gradc.compile("self * 2")
    assert fn.forward(self=3.0) == 6.0
    assert fn.value_and_grad(self=3.0) == (6.0, {"self": 2.0})
    assert fn.grad(self=3.0) == {"self": 2.0}
    assert fn.jvp({"self": 1.0}, self=3.0) == (6.0, 2.0)
    assert fn.hvp({"self": 1.0}, self=3.0) == {"self": 0.0}
    assert fn.hessian(self=3.0) == {"self": {"self": 0.0}}
    assert fn.vjp(1.0, self=3.0)[1] == {"self": 2.0}
    assert fn.jacobian(self=3.0) == {"self": 2.0}


def test_an_input_named_self_runs_through_the_decorator_and_newton(tmp_path):
    model = tmp_path / "model_with_self.py"
    model.write_text("def f(self, x):\n    return self * x\n")
    function = gradc.frontend.pyfunc.from_file(str(model), "f")
    fn = gradc.compile(function)
    assert fn.value_and_grad(self=2.0, x=3.0) == (6.0, {"self": 3.0, "x": 2.0})
    wrapped = gradc.api.Gradient(lambda self, x: None, fn)
    assert wrapped(2.0, 3.0) == 6.0 and wrapped.value_and_grad(self=2.0, x=3.0)[1] == {"self": 3.0, "x": 2.0}
    result = gradc.minimize(gradc.compile("(self - 3)**2"), {"self": 0.0}, method="newton")
    assert result.params["self"] == pytest.approx(3.0)


def test_an_example_that_is_not_a_dict_is_a_gradc_error():
    with pytest.raises(GradcError, match="example= is a dict"):
        gradc.compile("x", example=[1.0])


def test_render_refuses_to_write_over_its_source(tmp_path):
    source = tmp_path / "loss.dot"
    source.write_text("x*y\n")
    result = subprocess.run([sys.executable, "-m", "gradc", "render", str(source), "-o", str(source)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("gradc: error: -o ")
    assert "Traceback" not in result.stderr and source.read_text() == "x*y\n"


def test_inputs_named_like_the_methods_parameters_run():
    fn = gradc.compile("sum(arrays * tangents) + cotangent", shapes={"arrays": ("n",), "tangents": ("n",)})
    point = {"arrays": np.array([1.0, 2.0]), "tangents": np.array([3.0, 4.0]), "cotangent": 0.5}
    assert fn.forward(**point) == 11.5
    np.testing.assert_array_equal(fn.grad(**point)["arrays"], [3.0, 4.0])
    assert fn.jvp({"cotangent": 1.0}, **point)[1] == 1.0


# 4. Pictures that would keep Graphviz busy for minutes

def test_a_picture_too_big_to_lay_out_is_refused_before_graphviz_runs():
    source = " + ".join(f"x**{k + 1}" for k in range(100))  # the issue's 100-term sum: minutes in dot
    stages = pipeline.run(source)
    with pytest.raises(RenderError, match=rf"^the picture would have 594 nodes, more than the {MAX_NODES} "):
        render(stages)
    with pytest.raises(RenderError, match="297 nodes") as info:
        render(stages, pass_="forward")
    assert "--pass" not in str(info.value)  # one pass would not fit either
    with pytest.raises(RenderError, match=r"234 nodes, .*\(or draw one pass: --pass forward\)$"):
        render(pipeline.run(" + ".join(f"x**{k + 1}" for k in range(40))))
    assert render(pipeline.run(" + ".join(f"x**{k + 1}" for k in range(30)))).source.count("label=<") > 100


def dot_children(pid):
    """The pids of the `dot` processes whose parent is `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except (OSError, ValueError):
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if name == "dot" and int(rest[1]) == pid:
            found.append(int(entry))
    return found


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's dot is not installed")
def test_dot_is_stopped_at_the_time_limit(tmp_path):
    started = time.monotonic()
    with pytest.raises(RenderError, match=r"^Graphviz took more than 0.5 s to lay out the picture and was stopped"):
        write(graphviz.Source(SLOW_DOT), tmp_path / "slow.svg", timeout=0.5)
    assert time.monotonic() - started < 10
    assert not (tmp_path / "slow.svg").exists()
    if HAVE_PROC:
        assert dot_children(os.getpid()) == []


TERMINATED = """
import sys
import graphviz
from gradc.viz.layout import write
write(graphviz.Source(sys.stdin.read()), sys.argv[1], timeout=300)
"""


@pytest.mark.skipif(not (HAVE_DOT and HAVE_PROC), reason="needs Graphviz's dot and /proc")
def test_terminating_gradc_ends_dot(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", TERMINATED, str(tmp_path / "slow.svg")], stdin=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=ROOT)
    child.stdin.write(SLOW_DOT.encode())
    child.stdin.close()
    dots = []
    try:
        deadline = time.monotonic() + 30
        while not dots and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
            dots = dot_children(child.pid)
        assert dots, child.stderr.read().decode()
        child.terminate()  # SIGTERM, as `kill` sends
        assert child.wait(timeout=10) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 10
        while living_dots(dots) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert living_dots(dots) == []
    finally:
        child.kill()
        child.wait()
        for pid in living_dots(dots):  # only when the test failed: leave no dot running
            os.kill(pid, signal.SIGKILL)


def living_dots(pids):
    """Those of `pids` that are still a `dot` process (a zombie counts: its parent never waited for it)."""
    alive = []
    for pid in pids:
        try:
            if "(dot)" in Path(f"/proc/{pid}/stat").read_text():
                alive.append(pid)
        except OSError:
            pass
    return alive


# 5. Nothing left in the temp folder; the generated code still visible to inspect and tracebacks

LEAVES_NOTHING = """
import inspect, traceback
import numpy as np
import gradc
fn = gradc.compile("sum(x * x)", shapes={"x": ("n",)})
assert fn.value_and_grad(x=np.ones(3))[0] == 3.0
assert fn.jvp({"x": np.ones(3)}, x=np.ones(3))[1] == 6.0  # a derived variant, loaded on demand
print(inspect.getsource(fn.module.value_and_grad))
try:
    fn.module.value_and_grad(np.ones((2, 2)))
except ValueError:
    print(traceback.format_exc())
"""


def test_no_file_is_left_in_the_temp_folder_and_the_code_stays_visible(tmp_path):
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "TEMP": str(temp), "TMP": str(temp)}
    done = subprocess.run([sys.executable, "-c", LEAVES_NOTHING], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert os.listdir(temp) == []
    assert "def value_and_grad(x):\n    x, n = _inputs(x)\n" in done.stdout
    assert 'raise ValueError(f"x has shape {x.shape}; expected (n,)")' in done.stdout.split("Traceback")[1]
    assert '<gradc_generated_' in done.stdout


def test_inspect_and_tracebacks_read_the_generated_text():
    fn = gradc.compile("sum(exp(x))", shapes={"x": ("n",)})
    text = inspect.getsource(fn.module.value_and_grad)
    assert text.startswith("def value_and_grad(x):\n") and text in fn.source
    assert inspect.getsource(fn.module) == fn.source
    assert not os.path.exists(fn.module.__file__)
    try:
        fn.module.forward(np.ones((1, 1)))
    except ValueError as error:
        lines = traceback.format_exception(error)
    assert any(fn.module.__file__ in line and "in _inputs" in line for line in lines)
    assert 'raise ValueError(f"x has shape {x.shape}; expected (n,)")' in "".join(lines)


def test_a_module_is_loaded_once_per_text():
    text = gradc.compile("x * 3").source
    assert load_module(text) is load_module(text) is gradc.compile("x * 3").module


# 6. Compiling in threads: the serial text, and the compile cache gives everyone the same object

def varied_sources():
    """90 sources over scalars, vectors and matrices, with the cancelling forms that rewriting collects."""
    forms = ["sum({k}*u - u) + sum(exp(u))", "sum((u + w) - w) * {k}", "t = {k}*u - u; sum(t * t) + mean(u)",
             "sum(log(1 + exp(-y * (X @ w)))) + {k}*sum(w * w)", "0.5*sum((X @ w - y)**2) + {k}",
             "mean(tanh(u * {k}) - tanh(u) * {k})", "s = sin(u); sum(2*s - s) + {k}*sum(s*s)",
             "sum(softmax(X @ w + {k}) * y[0])", "a*{k} + b*b - a + a*b", "sum(maximum(u, {k}) + minimum(w, u))"]
    shapes = {"u": ("n",), "w": ("d",), "X": ("n", "d"), "y": ("n",)}
    sources = []
    for k in range(2, 11):
        for form in forms:
            source = form.format(k=k)
            used = {name: dims for name, dims in shapes.items() if re.search(rf"\b{name}\b", source)}
            if "(u + w)" in source or "minimum(w, u)" in source:
                used["w"] = ("n",)
            sources.append((source, used))
    return sources


def test_compiling_varied_sources_in_threads_gives_the_serial_text():
    sources = varied_sources()
    assert len(sources) == 90 and len({s for s, _ in sources}) == 90
    serial = [pipeline.run(source, shapes=shapes).source for source, shapes in sources]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, inside every pass
    try:
        with ThreadPoolExecutor(8) as pool:
            threaded = list(pool.map(lambda item: gradc.compile(item[0], shapes=item[1]).source, sources))
    finally:
        sys.setswitchinterval(interval)
    assert [sources[i][0] for i, text in enumerate(threaded) if text != serial[i]] == []


def test_wrt_given_as_a_set_is_sorted_whatever_the_hash_seed():
    source = "e * d * c * b * a * alpha * beta"
    fn = gradc.compile(source, wrt={"e", "a", "c", "d", "alpha", "beta"})
    assert fn.wrt == ("a", "alpha", "beta", "c", "d", "e")
    assert fn.source == gradc.compile(source, wrt=["a", "alpha", "beta", "c", "d", "e"]).source


def test_compiling_one_source_in_threads_gives_one_object():
    source = "sum(7*u - u) + mean(u * 13)"  # compiled nowhere else
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(8) as pool:
            compiled = list(pool.map(lambda _: gradc.compile(source, shapes={"u": ("n",)}), range(16)))
    finally:
        sys.setswitchinterval(interval)
    assert all(fn is compiled[0] for fn in compiled)
    assert gradc.compile(source, shapes={"u": ("n",)}) is compiled[0]


def test_the_standalone_modules_derivatives_check_their_directions(tmp_path):
    text = gradc.compile("sum(tanh(W @ x))", shapes={"W": ("m", "n"), "x": ("n",)}).source_with(["jvp", "vjp", "hvp"])
    namespace = {}
    exec(compile(text, "module.py", "exec"), namespace)  # noqa: S102 - gradc's own generated text
    W, x = np.ones((2, 3)), np.ones(3)
    value, derivative = namespace["jvp"]({"W": np.zeros((2, 3)), "x": [1, 2, 3]}, W, x)
    assert derivative == pytest.approx(6 * (1 - np.tanh(3.0) ** 2) * 2)
    with pytest.raises(ValueError, match=re.escape('tangents["x"] has shape (1,); expected (3,)')):
        namespace["jvp"]({"W": np.zeros((2, 3)), "x": [1.0]}, W, x)  # would broadcast silently
    with pytest.raises(TypeError, match="real numbers"):
        namespace["hvp"]({"W": np.zeros((2, 3)) * 1j, "x": x}, W, x)
    with pytest.raises(ValueError, match=re.escape("cotangent has shape (2,); expected ()")):
        namespace["vjp"](np.ones(2), W, x)
