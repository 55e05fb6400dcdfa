"""`readable=True`: the module as a textbook prints it, with the fast module's values and gradients."""
import ast
from pathlib import Path

import numpy as np
import pytest

import gradc
from tests.test_generated_code import GENERATED, PROGRAMS, dead_assignments
from tests.test_golden import CASES

SIZES = {"n": 4, "m": 3, "d": 3, "k": 2, "c": 3, "h": 3}


def _point(fn, rng):
    graph = fn.stages.final
    point = {}
    for name, node in graph.inputs.items():
        shape = tuple(SIZES.get(d, d) if isinstance(d, str) else d for d in graph.shape(node))
        point[name] = rng.uniform(0.2, 1.2, size=shape) if shape else float(rng.uniform(0.2, 1.2))
    return point


@pytest.mark.parametrize("program", PROGRAMS)
def test_values_and_gradients_equal_the_fast_modules(program, rng):
    source, wrt, shapes = PROGRAMS[program]
    fast, readable = gradc.compile(source, wrt, shapes), gradc.compile(source, wrt, shapes, readable=True)
    point = _point(fast, rng)
    with np.errstate(all="ignore"):
        if not hasattr(fast.module, "value_and_grad"):
            np.testing.assert_allclose(readable.forward(**point), fast.forward(**point), rtol=1e-12)
            return
        value, grads = fast.value_and_grad(**point)
        value_r, grads_r = readable.value_and_grad(**point)
    np.testing.assert_allclose(value_r, value, rtol=1e-12, atol=1e-300)
    assert grads_r.keys() == grads.keys()
    for name in grads:
        np.testing.assert_allclose(grads_r[name], grads[name], rtol=1e-11, atol=1e-12)
        assert type(grads_r[name]) is type(grads[name])


def _functions(text):
    return [f for f in ast.parse(text).body if isinstance(f, ast.FunctionDef) and f.name in GENERATED]


@pytest.mark.parametrize("program", PROGRAMS)
def test_no_in_place_writes_no_dead_lines(program):
    fn = gradc.compile(*PROGRAMS[program], readable=True)
    kinds = ["jvp", "vjp", "hvp", "hessian"] if hasattr(fn.module, "value_and_grad") else ["jvp", "vjp"]
    for text in (fn.source, fn.source_with(kinds)):
        assert dead_assignments(text) == []
        for function in _functions(text):
            for node in ast.walk(function):
                assert not isinstance(node, ast.AugAssign), ast.unparse(node)
                if isinstance(node, ast.Call):
                    assert "out" not in [k.arg for k in node.keywords], ast.unparse(node)


@pytest.mark.parametrize("case", CASES)
def test_each_backward_line_says_its_chain_rule_step(case):
    text = gradc.compile(*CASES[case], readable=True).source
    body = text.split("def value_and_grad")[1].split("# backward")[1].split("\n    return ")[0]
    lines = [line.strip() for line in body.splitlines()[1:]]
    assigned = [line for line in lines if not line.startswith("#")]
    assert assigned and all("  # " in line for line in assigned), assigned


def test_the_lecture_example_reads_as_the_chain_rule():
    text = gradc.compile("x / (x + y)", readable=True).source
    assert "g_x = g_x_1 + g_x_2  # x is used twice: sum its partials" in text
    assert "# dL/dy = dL/dt1" in text
    network = gradc.compile("h = tanh(X@W1 + b1); p = sigmoid(h@w2 + b2); mean((p - y)**2)",
                            wrt=["W1", "b1", "w2", "b2"],
                            shapes={"X": ("n", "d"), "W1": ("d", "k"), "b1": ("k",), "w2": ("k",), "y": ("n",)},
                            readable=True).source
    for plain in ("g_w2 = h.T @ g_t4  # dL/dw2 = h.T @ dL/dt4", "g_W1 = X.T @ g_t2", "g_b1 = g_t2.sum(axis=0)"):
        assert plain in network, plain
    assert "einsum" not in network


def test_readable_is_its_own_compile_and_says_so_in_its_command():
    fast, readable = gradc.compile("(x + y) * z"), gradc.compile("(x + y) * z", readable=True)
    assert fast is not readable and fast.source != readable.source
    assert gradc.compile("(x + y) * z", readable=True) is readable
    assert "`gradc compile '(x + y) * z' --readable`" in readable.source
    assert "--emit jvp --readable" in readable.source_with(["jvp"]) or "--readable --emit jvp" in \
        readable.source_with(["jvp"])


def test_the_readmes_examples_are_the_real_readable_output():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    least_squares = gradc.compile("0.5*sum((X@w - y)**2)", wrt=["w"],
                                  shapes={"X": ("n", "d"), "y": ("n",), "w": ("d",)}, readable=True).source
    network = gradc.compile("h = tanh(X@W1 + b1); p = sigmoid(h@w2 + b2); mean((p - y)**2)",
                            wrt=["W1", "b1", "w2", "b2"],
                            shapes={"X": ("n", "d"), "W1": ("d", "k"), "b1": ("k",), "w2": ("k",), "y": ("n",)},
                            readable=True).source
    shown = least_squares.split("\n\n\n")[-2]  # value_and_grad
    assert shown.startswith("def value_and_grad") and f"```python\n{shown}\n```" in readme
    backward = network.split("\n\n\n")[-2]
    assert f"```python\n{backward[backward.index('    # backward'):]}\n```" in readme
