"""The step-through page: its steps against the lectures' numbers, and the page itself in headless Chromium."""
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import gradc
from gradc.cli.main import main
from gradc.viz.lesson import LessonPage, lesson
from gradc.viz.render import RenderError

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="needs Graphviz's dot")
needs_browser = pytest.mark.skipif(not (CHROMIUM and HAVE_DOT), reason="needs Chromium and Graphviz's dot")
CIRCUIT = {"x": -2.0, "y": 5.0, "z": -4.0}


def steps_of(html):
    data = re.search(r'<script id="steps" type="application/json">(.*?)</script>', html, re.S).group(1)
    return json.loads(data)


def texts(source, at, shapes=None):
    return [step["text"] for step in steps_of(lesson(gradc.compile(source, shapes=shapes).stages, at))]


@needs_dot
def test_the_lecture_circuit_steps_forward_then_back_edge_by_edge():
    assert texts("(x + y) * z", CIRCUIT) == [
        "input x = -2", "input y = 5", "input z = -4",
        "t1 = x + y = -2 + 5 = 3",
        "f = t1 × z = 3 × (-4) = -12",
        "seed: df/df = 1",
        "df/dt1 = df/df * df/dt1 = 1 * (-4) = -4",
        "df/dz = df/df * df/dz = 1 * 3 = 3",
        "df/dx = df/dt1 * dt1/dx = -4 * 1 = -4",
        "df/dy = df/dt1 * dt1/dy = -4 * 1 = -4",
    ]


@needs_dot
def test_a_branch_shows_its_gradients_adding_up():
    """x / (x + y) at (1, 2): x feeds two gates, so df/dx = 1/3 + (-1/9) = 2/9."""
    said = texts("x / (x + y)", {"x": 1.0, "y": 2.0})
    assert "df/dx (through f) = df/df * df/dx = 1 * 0.3333 = 0.3333" in said
    assert "df/dx (through t1) = df/dt1 * dt1/dx = -0.1111 * 1 = -0.1111" in said
    assert said[-1] == "df/dx = 0.3333 + (-0.1111) = 0.2222   (x is used 2 times: its gradients add up)"


@needs_dot
def test_the_sigmoid_neuron_of_the_gates_lecture():
    """f = 1 / (1 + exp(-(w0*x0 + w1*x1 + w2))) at w = (2, -3, -3), x = (-1, -2): df/dw0 = -0.2, df/dx0 = 0.39."""
    at = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
    said = texts("1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))", at)
    gradients = {m.group(1): float(m.group(2)) for m in (re.fullmatch(r"df/d(\w+) = .* = (\S+)", s) for s in said)
                 if m and m.group(1) in at}
    assert gradients == pytest.approx({"w0": -0.1966, "x0": 0.3932, "w1": -0.3932, "x1": -0.5898, "w2": 0.1966},
                                      abs=1e-4)


@needs_dot
def test_arrays_are_summarised_and_a_vector_output_says_its_seed():
    at = {"X": np.arange(6.0).reshape(3, 2), "w": np.array([0.5, -1.0]), "y": np.array([1.0, 0.0, 2.0])}
    said = texts("0.5*sum((X@w - y)**2)", at, shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)})
    assert "input X = min 0 mean 2.5 max 5" in said
    assert said[-1].startswith("df/dw = ")
    vector = texts("tanh(x)", {"x": np.array([0.0, 1.0])}, shapes={"x": (2,)})
    assert "seed: df/df = ones (the gradient of sum(f): each element weighs 1)" in vector


@needs_dot
def test_user_text_cannot_leave_its_place_in_the_page():
    source = "a = x * 2  # </script><b>bold</b>\na + 1"
    html = lesson(gradc.compile(source).stages, {"x": 1.0})
    assert "<b>" not in html and html.count("</script>") == 2


@needs_dot
def test_a_page_needs_the_whole_point():
    stages = gradc.compile("(x + y) * z").stages
    with pytest.raises(RenderError, match="needs the point to step through"):
        lesson(stages, {})
    with pytest.raises(RenderError, match="missing: z"):
        lesson(stages, {"x": 1.0, "y": 2.0})


@needs_dot
def test_jupyter_shows_the_page_in_a_frame_of_its_own():
    page = LessonPage(lesson(gradc.compile("x * y").stages, {"x": 2.0, "y": 3.0}))
    assert page._repr_html_().startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;')
    assert str(page).startswith("<!DOCTYPE html>")


def browse(tmp_path, page, fragment, *extra):
    """Chromium's view of the page at `#fragment`, after its script ran; its profile and scratch in tmp_path."""
    env = {**os.environ, "TMPDIR": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000", *extra,
                           f"{page.as_uri()}#{fragment}"], capture_output=True, text=True, timeout=120, env=env)
    return done.stdout


def shown(dom, element):
    return re.search(rf'id="{element}"[^>]*>([^<]*)<', dom).group(1)


@needs_browser
def test_the_page_steps_in_a_real_browser(tmp_path):
    page = tmp_path / "lesson.html"
    assert main(["render", "(x + y) * z", "--at", "x=-2", "--at", "y=5", "--at", "z=-4", "-o", str(page)]) == 0
    dom = browse(tmp_path, page, "step=9", "--dump-dom")
    assert shown(dom, "explain") == "df/dx = df/dt1 * dt1/dx = -4 * 1 = -4"
    assert shown(dom, "counter") == "step 9 of 10"
    assert dom.count('style="visibility: hidden;"') == 1  # the numbers of steps 1-9 are shown, step 10's not
    assert shown(browse(tmp_path, page, "step=last", "--dump-dom"), "explain") == \
        "df/dy = df/dt1 * dt1/dy = -4 * 1 = -4"
    assert shown(browse(tmp_path, page, "step=0", "--dump-dom"), "explain").startswith("The circuit.")
    browse(tmp_path, page, "step=7", f"--screenshot={tmp_path / 'step7.png'}", "--window-size=1000,700")
    assert (tmp_path / "step7.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_browser
@pytest.mark.parametrize("source, at, shapes", [
    ("3 * (x*y + max(z, w))", dict(x=3.0, y=-4.0, z=2.0, w=-1.0), None),
    ("0.5 * sum((X @ w - y)**2)", dict(X=np.arange(6.0).reshape(3, 2), w=np.array([0.5, -1.0]),
                                       y=np.array([1.0, 0.0, 2.0])), {"X": ("n", "d"), "w": ("d",), "y": ("n",)}),
])
def test_the_gates_example_and_least_squares_step_in_the_browser(tmp_path, source, at, shapes):
    html = lesson(gradc.compile(source, shapes=shapes).stages, at)
    page = tmp_path / "lesson.html"
    page.write_text(html, encoding="utf-8")
    steps = steps_of(html)
    middle = len(steps) // 2
    for fragment, text in ((f"step={middle}", steps[middle - 1]["text"]), ("step=last", steps[-1]["text"])):
        dom = browse(tmp_path, page, fragment, "--dump-dom")
        assert shown(dom, "explain") == text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_the_command_line_asks_for_the_point(tmp_path, capsys):
    assert main(["render", "(x + y) * z", "-o", str(tmp_path / "lesson.html")]) == 2
    assert "needs the point to step through" in capsys.readouterr().err
    assert not (tmp_path / "lesson.html").exists()
