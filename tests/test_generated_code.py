"""Generated code a careful person would write: every assignment in every generated function is read later
or returned (no dead lines), each source segment is commented once, composites are one helper call."""
import ast

import pytest

import gradc
from tests import fuzz
from tests.test_golden import CASES

GENERATED = {"forward", "value_and_grad", "gradient", "jvp", "vjp", "hvp", "hessian"}
LECTURES = [
    ("(x + y) * z", None, None),
    ("x / (x + y)", None, None),
    ("3*(x*y + max(z, w))", None, None),
    ("1/(1+exp(-(w0 + w1*x1 + w2*x2)))", None, None),
    ("1/(1+exp(-(w[0] + w[1]*x[0] + w[2]*x[1])))", None, {"w": (3,), "x": (2,)}),
    ("x**3 - 3*x", None, None),
    ("b = x@a; 2*b[0] + b[1]**2", None, {"x": (2, 3), "a": (3,)}),
    ("softmax(z)[1]", None, {"z": (4,)}),
    ("sum(x)", None, {"x": ("n",)}),
    ("h = tanh(X@W1 + b1); p = sigmoid(h@w2 + b2); mean((p - y)**2)", ["W1", "b1", "w2", "b2"],
     {"X": ("n", "d"), "W1": ("d", "k"), "b1": ("k",), "w2": ("k",), "y": ("n",)}),
    ("mean(-y*log(sigmoid(X@w + b)) - (1 - y)*log(1 - sigmoid(X@w + b)))", ["w", "b"],
     {"X": ("n", "d"), "w": ("d",), "y": ("n",)}),
    ("0.5*sum((tanh(W2@relu(W1@x + b1) + b2) - y)**2)", ["W2", "W1", "b1", "b2"],
     {"W2": ("k", "h"), "W1": ("h", "d"), "x": ("d",), "b1": ("h",), "b2": ("k",), "y": ("k",)}),
    ("tanh(W @ x)", None, {"W": ("m", "n"), "x": ("n",)}),  # a vector output: forward, jvp and vjp only
]
FUZZ_SEEDS = range(0, 240, 4)


def _programs():
    yield from ((f"golden:{name}", case) for name, case in CASES.items())
    yield from ((f"lecture:{case[0]}", case) for case in LECTURES)
    for seed in FUZZ_SEEDS:
        program = fuzz.generate(seed)
        try:
            yield f"fuzz:{seed}", (program.text, program.effective_wrt(), program.shapes)
        except fuzz.Invalid:
            continue


PROGRAMS = dict(_programs())


def _modules(source, wrt, shapes, **options):
    fn = gradc.compile(source, wrt=wrt, shapes=shapes, **options)
    kinds = ["jvp", "vjp", "hvp", "hessian"] if hasattr(fn.module, "value_and_grad") else ["jvp", "vjp"]
    return fn.source, fn.source_with(kinds)


def dead_assignments(text):
    """(function, name, line) for each `name = ...` in a generated function that nothing after it reads.

    The opening's assignments (`X, w, n, d = _inputs(X, w)`, `b = np.float64(b)`) bind every input and
    size at once, checked and converted, and are not counted: a tuple target, or an input's own name.
    """
    dead = []
    for function in ast.parse(text).body:
        if not isinstance(function, ast.FunctionDef) or function.name not in GENERATED:
            continue
        params = {arg.arg for arg in function.args.args}
        reads = [(node.lineno, node.col_offset, node.id) for node in ast.walk(function)
                 if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)]
        for statement in ast.walk(function):
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                    and isinstance(statement.targets[0], ast.Name):
                name, end = statement.targets[0].id, (statement.end_lineno, statement.end_col_offset)
                if name not in params and not any(read == name and (line, col) > end for line, col, read in reads):
                    dead.append((function.name, name, statement.lineno))
    return dead


@pytest.mark.parametrize("program", PROGRAMS)
def test_every_assignment_is_read_later_or_returned(program):
    for text in _modules(*PROGRAMS[program]):
        assert dead_assignments(text) == [], text


def test_the_dead_lines_the_issue_names_are_gone():
    source = gradc.compile(*CASES["least_squares"]).source
    assert "g_t3 = 0.5" not in source and "g_t1 = t2" not in source
    assert "g_x = 1.0" not in gradc.compile("sum(x)", shapes={"x": ("n",)}).source
    two_layer = gradc.compile(*LECTURES[9]).source
    assert "g_p = g_t5" not in two_layer and "g_t1 = g_t2" not in two_layer


def test_the_checker_finds_a_dead_line():
    text = "def forward(x):\n    t1 = x + 1\n    t2 = x * 2\n    return t1\n"
    assert dead_assignments(text) == [("forward", "t2", 3)]


@pytest.mark.parametrize("program", PROGRAMS)
def test_each_source_segment_is_commented_once_per_function(program):
    source, derived = _modules(*PROGRAMS[program])
    for text in (source, derived):
        for function in ast.parse(text).body:
            if isinstance(function, ast.FunctionDef) and function.name in GENERATED:
                lines = ast.get_source_segment(text, function).splitlines()
                comments = [line.split("  # ", 1)[1] for line in lines
                            if "  # " in line and not line.lstrip().startswith("#")]
                sources = [c for c in comments if not c.startswith(("path ", "summed over", "dL/d"))]
                repeated = {c for c in sources if sources.count(c) > 1}
                assert not repeated, (function.name, repeated)
