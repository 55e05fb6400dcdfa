"""Draw the lecture's circuits, and least squares, forward and backward: out/<name>.png and .svg, and a page
stepping through each in the browser: out/<name>.html.

Each picture has two panels: values flowing forward (green) and gradients flowing back (red), with the
branch sum of x / (x + y) drawn as its own node. Needs Graphviz's `dot` (make setup installs it).
Run: python examples/render_lectures.py            (--docs: also the README's screenshots, with Chromium)
"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import gradc
from gradc.viz.lesson import lesson
from gradc.viz.values import summary

OUT = Path(__file__).resolve().parent.parent / "out"
DOCS = Path(__file__).resolve().parent.parent / "docs"
# (lecture, step) -> screenshot: the circuit after its forward pass and mid-way back, the branch sum adding up
SCREENSHOTS = {("circuit", "5"): "lesson_circuit_forward.png", ("circuit", "9"): "lesson_circuit_backward.png",
               ("branching", "last"): "lesson_branching_sum.png"}
LSQ_SHAPES = {"X": ("n", "d"), "w": ("d",), "y": ("n",)}


def lectures():
    """(name, source, shapes, point): the lecture notes' worked examples, then least squares."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 3))
    return [
        ("circuit", "(x + y) * z", None, dict(x=-2.0, y=5.0, z=-4.0)),
        ("branching", "x / (x + y)", None, dict(x=-1.0, y=2.0)),
        ("gates", "3 * (x*y + max(z, w))", None, dict(x=3.0, y=-4.0, z=2.0, w=-1.0)),
        ("neuron", "1 / (1 + exp(-(w0 + w1*x1 + w2*x2)))", None,
         dict(w0=-3.0, w1=2.0, x1=-1.0, w2=-3.0, x2=-2.0)),
        ("least_squares", "0.5 * sum((X @ w - y)**2)", LSQ_SHAPES,
         dict(X=X, w=np.array([1.0, -2.0, 0.5]), y=X @ np.array([0.5, -1.0, 2.0]))),
    ]


def main():
    OUT.mkdir(exist_ok=True)
    for name, source, shapes, at in lectures():
        fn = gradc.compile(source, shapes=shapes)
        picture = fn.render(at=at)
        for suffix in ("png", "svg"):
            (OUT / f"{name}.{suffix}").write_bytes(picture.pipe(format=suffix))
        (OUT / f"{name}.html").write_text(lesson(fn.stages, at), encoding="utf-8")
        value, grads = fn.value_and_grad(**at)
        shown = ", ".join(f"df/d{k} = {summary(v, sep=' ')}" for k, v in grads.items())
        print(f"{name:14s} f = {value:.4g}   gradient: {shown}")
    # The neuron as written is the lecture's fine-grained circuit; the compiler fuses it into one σ gate.
    neuron = gradc.compile(lectures()[3][1])
    (OUT / "neuron_as_written.png").write_bytes(
        neuron.render(at=lectures()[3][3], pass_="forward", stage="parsed").pipe(format="png"))
    print(f"pictures and step-through pages in {OUT}")
    if "--docs" in sys.argv:
        screenshots()


def screenshots():
    """The README's screenshots of the step-through pages, taken by headless Chromium into docs/."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        sys.exit("--docs needs Chromium (make chromium installs it)")
    with tempfile.TemporaryDirectory() as scratch:  # Chromium's profile, removed afterwards
        for (name, step), shot in SCREENSHOTS.items():
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--user-data-dir={scratch}", "--virtual-time-budget=3000", "--window-size=900,520",
                            f"--screenshot={DOCS / shot}", f"{(OUT / name).with_suffix('.html').as_uri()}#step={step}"],
                           check=True, capture_output=True, env={**os.environ, "TMPDIR": scratch})
            print(f"wrote {DOCS / shot}")


if __name__ == "__main__":
    main()
