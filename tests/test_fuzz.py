"""The differential fuzzer (tests/fuzz.py) in the normal test run, and the programs it exists to catch.

Each random program is compiled and checked against the graph interpreter (value) and central differences
(every gradient); one in five is also compiled twice and compared byte for byte. A failure names its seed:
`python tests/fuzz.py --seed SEED --shrink` replays it and cuts it down. `make fuzz` runs 20,000.
"""
import numpy as np
import pytest

import fuzz
from gradc import pipeline

SEEDS = range(300)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_program(seed):
    result = fuzz.run_seed(seed, determinism=seed % 5 == 0)
    assert result.status != "fail", result.report()


# Named regressions: each checked, value and every gradient, against the interpreter and central differences.
VECTORS = {"u": ("n",), "v": ("n",), "w": ("n",)}
REGRESSIONS = {
    # issue 11, item 1: a value that simplifies onto an existing node and is used again
    "statement 2*u - u, used in 2*t - t": ("t = 2*u - u; sum(exp(u)) + sum(2*t - t)", VECTORS),
    "statement 2*u - u, and another input": ("t = 2*u - u; sum(exp(u)) + sum(2*t - t) + sum(v)", VECTORS),
    "(u + w) - w in 2*t - t": ("t = (u + w) - w; sum(exp(u)) + sum(2*t - t)", VECTORS),
    "(u + w) - w inline": ("sum(exp(u)) + sum((u + w) - w) + sum(w*u)", VECTORS),
    "(u + w) - w twice": ("t = (u + w) - w; s = (t + w) - w; sum(exp(u)) + sum(2*s - s) + sum(t)", VECTORS),
    "s = sin(u); 2*s - s": ("s = sin(u); sum(2*s - s)", VECTORS),
    "s = sin(u); 2*s - s beside exp(s)": ("s = sin(u); sum(exp(s)) + sum(2*s - s)", VECTORS),
    "s = sin(u); t = 2*s - s": ("s = sin(u); t = 2*s - s; sum(cos(s)) + sum(2*t - t)", VECTORS),
    "s = u*a; 2*s - s": ("s = u*a; sum(2*s - s)", VECTORS),
    "s = u*a; 2*s - s beside exp(s)": ("s = u*a; sum(exp(s)) + sum(2*s - s) + a*a", VECTORS),
    "s = u*a; t = 2*s - s": ("s = u*a; t = 2*s - s; sum(exp(u)) + sum(2*t - t)", VECTORS),
    "2*u - u inside a square": ("sum(2*u - u) + sum((v*(u-v) + (2*u - u))**2)", VECTORS),
    # shrunk by the fuzzer from failures at 25d3bf2 (the same class)
    "u + u - u under a product": ("t2 = (u + u) - u; u @ u + exp(tanh(u @ (t2 * t2)))", VECTORS),
    "u + u - u beside minimum": ("t3 = u + u - u; u @ t3 + u @ (minimum(u, a + t3) * a)", VECTORS),
    "nested 2*u - u": ("t17 = (2*u - u)*2 - (2*u - u); sum(exp(u)) + sum(t17)", VECTORS),
    "2*u - u - u + (2*u - u)": ("mean(u**3 + u**3 - u**3) - logsumexp(2*u - u - u + (2*u - u))", VECTORS),
    "A + A - A + A": ("mean(b - (A + A - A + A)) - sum(2*A - A)", {"A": ("n", "m")}),
    "(A + p) - p beside 2*t - t": ("t1 = A + A - A; sum((A + p) - p) + mean(-(2*t1 - t1))",
                                   {"A": ("n", "m"), "p": ("m",)}),
    "softmax of 2*A - A": ("t2 = 2*A - A; sum(A) + mean(softmax(t2, axis=1) / (1 + softmax(A*2 - A, axis=0)**2)"
                           " - t2 + t2)", {"A": ("n", "m")}),
    "A @ A.T + 3 - 3": ("mean((A @ A.T + ((A @ A.T + 3) - 3)) - ((A @ A.T + 3) - 3))", {"A": ("n", "m")}),
    "a zero that cancels": ("sum(((p + a) - a - p) @ A.T @ maximum(A, a + p - a))", {"A": ("n", "m"), "p": ("m",)}),
    # found by the fuzzer: a broadcast operand that cancels leaves an integer count array written in place
    # (UFuncTypeError: Cannot cast ufunc 'multiply' output from float64 to int64)
    "(A + a*p) - a*p": ("sum((A + a*p) - a*p)", {"A": ("n", "m"), "p": ("m",)}),
    "(A + f(p)) - f(p)": ("sum((A + log(1 + p**2)) - log(1 + p**2))", {"A": ("n", "m"), "p": ("m",)}),
    "sin(u) + C - sin(u)": ("sum(sin(u) + C - sin(u))", {"u": ("n",), "C": ("n", "n")}),
    # found by the fuzzer at a842ee0: the count m of a broadcast is an int adjoint, and a mask keeps it one:
    # `m * (t3 > 0.0)` is an int64 array, returned as the gradient or written into by a float op in place
    "relu(u) + A.T: an int64 gradient": ("sum(relu(u) + A.T)", {"u": ("n",), "A": ("n", "m")}),
    "relu(p) - A: an int64 gradient": ("sum(relu(p) - A)", {"p": ("m",), "A": ("n", "m")}),
    "maximum(u, v) + A.T: an int64 gradient": ("sum(maximum(u, v) + A.T)", {"u": ("n",), "v": ("n",),
                                                                            "A": ("n", "m")}),
    "sum(relu(...)) - p: a float divided into an int mask": ("sum(np.sum(relu(sqrt(2 + sin(v)))) - p)",
                                                              {"v": ("n",), "p": ("m",)}),
    "(A.T + minimum(u, v)) - minimum(u, v)": ("sum((A.T + minimum(u, v)) - minimum(u, v)) + mean(v)",
                                              {"u": ("n",), "v": ("n",), "A": ("n", "m")}),
}


def _declared(source, shapes):
    import ast
    names = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
    return {name: dims for name, dims in shapes.items() if name in names}


@pytest.mark.parametrize("name", list(REGRESSIONS))
def test_regression(name):
    source, shapes = REGRESSIONS[name]
    for seed in range(3):
        result = fuzz.check_source(source, _declared(source, shapes), seed=seed)
        assert result.status == "ok", result.report()


def test_the_issue_gradient_at_its_point():
    """issue 11: the gradient of t = 2*u - u; sum(exp(u)) + sum(2*t - t) is exp(u) + 1."""
    stages = pipeline.run("t = 2*u - u; sum(exp(u)) + sum(2*t - t)", None, {"u": ("n",)})
    u = np.array([0.3, -1.2, 0.5, 2.0])
    value, grads = fuzz.exec_module(stages.source)["value_and_grad"](u=u)
    np.testing.assert_allclose(value, np.sum(np.exp(u)) + np.sum(u), rtol=1e-12)
    np.testing.assert_allclose(grads["u"], np.exp(u) + 1, rtol=1e-12)


# The fuzzer itself: deterministic, varied, and able to see a wrong gradient.

def test_programs_are_deterministic_and_printable():
    first, again = fuzz.generate(12345), fuzz.generate(12345)
    assert first.text == again.text and first.sizes == again.sizes and first.shapes == again.shapes
    assert fuzz.generate(12346).text != first.text
    assert "seed 12345" in first.describe() and first.text in first.describe()


def test_generator_covers_its_vocabulary():
    """Every template occurs in the programs the test run checks, and echo statements (`t = 2*u - u`) are
    common: the class of issue 11, item 1."""
    seen, echoes, statements = set(), 0, 0

    def walk(node):
        seen.add(node.kind)
        for arg in node.args:
            walk(arg)

    for seed in SEEDS:
        program = fuzz.generate(seed)
        for _, node in program.statements:
            walk(node)
            statements += 1
            echoes += node.kind in fuzz.CANCEL_FORMS and all(a.kind in ("input", "stmt") for a in node.args)
        walk(program.output)
    expected = set(fuzz.UNARY_TABLE) | set(fuzz.CANCEL_FORMS) | set(fuzz.BINARY_FORMS) | {
        "sum", "mean", "logsumexp", "softmax", "log_softmax", "matmul", "dot", "T", "transpose", "index"}
    assert expected <= seen, f"never generated: {sorted(expected - seen)}"
    assert echoes > 0.1 * statements


PLANTED = "\n\n_true_value_and_grad = value_and_grad\n\n\ndef value_and_grad(*args, **kwargs):\n" \
          "    value, grads = _true_value_and_grad(*args, **kwargs)\n" \
          "    return value, {name: g * {factor} for name, g in grads.items()}\n"


@pytest.mark.parametrize("factor, kind", [("1.0001", "grad"), ("1", None)])
def test_the_checker_sees_a_planted_gradient_error(factor, kind):
    result = fuzz.check_source("sum(exp(u) * v) + a*a", {"u": ("n",), "v": ("n",)},
                               transform=lambda text: text + PLANTED.replace("{factor}", factor))
    assert (result.status, result.kind) == (("fail", kind) if kind else ("ok", "")), result.report()


def test_the_checker_sees_a_planted_value_error():
    result = fuzz.check_source("sum(exp(u))", {"u": ("n",)},
                               transform=lambda text: text.replace("def forward(u):", "def forward(u):\n"
                                                                   "    return 1.0 + _forward(u)\n\n\n"
                                                                   "def _forward(u):"))
    assert (result.status, result.kind) == ("fail", "value"), result.report()


@pytest.mark.parametrize("factor, kind", [(1.001, "hvp"), (1.0, None)])
def test_the_checker_sees_a_planted_hvp_error(factor, kind, monkeypatch):
    """One program in HVP_EVERY (seed 0 is one) checks its hvp against differences of its gradient."""
    loaded = fuzz.exec_module

    def planted(text, seed=0):
        namespace = loaded(text, seed)
        if "hvp" in namespace:
            hvp = namespace["hvp"]
            namespace["hvp"] = lambda vectors, **arrays: {k: h * factor for k, h in hvp(vectors, **arrays).items()}
        return namespace
    monkeypatch.setattr(fuzz, "exec_module", planted)
    result = fuzz.check_source("sum(exp(u) * v) + a*a*sum(u)", {"u": ("n",), "v": ("n",)}, seed=0)
    assert (result.status, result.kind) == (("fail", kind) if kind else ("ok", "")), result.report()
