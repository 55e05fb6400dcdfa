"""Every op entry is complete: its meaning, rules, formula, drawing symbol, source names and flags, each consistent.

What an op knows lives in its entry alone, so a new op cannot leave `explain`, the parser, `gradc ops`, the
scheduler or the pictures without the fact they need. test_ops.py draws each op's operands from its domain.
"""
import numpy as np
import pytest

from gradc.backend.interpret import evaluate
from gradc.backend.numpy.lowerings import lowering_of
from gradc.backend.schedule import INLINE
from gradc.backend.numpy.writer import Context
from gradc.cli.main import run_ops
from gradc.ops.catalog import SECTIONS, op_modules, sections
from gradc.explain import Printer
from gradc.frontend.parse import BINARY, COMPARE, FUNCTIONS, UNARY
from gradc.graph import Graph
from gradc.ops import REGISTRY, Value, call
from gradc.ops.formula import ALWAYS, UNDER_ELEMENTWISE, Formula
from gradc.ops.registry import CLOSED, DIVIDES, NUMPY, RAISES
from gradc.ops.domain import Domain
from test_ops import LEAVES, build, cases

LABELS = ("input", "const")  # drawn as plain labels, not gates with a symbol (viz/render.py)


def example(name):
    """A graph holding one node of op `name`, and that node: the first test_ops case, or the leaf's attributes."""
    if name in LEAVES:
        graph = Graph()
        bound = graph.input("a", ("n",))  # binds n, which the leaves' shapes name
        graph.outputs = [bound if name == "input" else graph.add(name, **LEAVES[name])]
        return graph, graph.outputs[0]
    _, shapes, attrs = next(case.values for case in cases() if case.values[0] == name)
    graph, out = build(name, shapes, attrs)
    return graph, out.node


def test_every_op_has_a_test_row():
    assert {name for name, op in REGISTRY.items() if op.domain} | set(LEAVES) == set(REGISTRY)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_entry_is_complete(name):
    op = REGISTRY[name]
    assert callable(op.shape) and (callable(op.impl) or name == "input"), "the input's value is given, not computed"
    assert op.doc, "a line for `gradc ops`"
    assert op.symbol or name in LABELS, "a symbol for its gate in pictures"
    assert isinstance(op.formula, Formula), "a formula for `gradc explain`"
    assert op.formula.transparent in ("", ALWAYS, UNDER_ELEMENTWISE)
    assert op.floats in (CLOSED, DIVIDES, RAISES, NUMPY)
    assert isinstance(op.defined_everywhere, bool)
    if op.leaf:
        assert op.domain == (), "a leaf has no operands to restrict"
    else:
        assert len(op.domain) == (1 if op.arity < 0 else op.arity), "a domain for each operand (variadic: one)"
        assert all(isinstance(d, Domain) for d in op.domain)
    if op.leaf:
        assert op.vjp is None and op.jvp is None and op.differentiable
    else:
        assert callable(op.vjp) and callable(op.jvp), "rules for both modes (a zero derivative: differentiable=False)"
    assert not (op.keywords or op.builtin) or op.names, "keywords and builtins are the source's: the op needs names"
    assert not op.inline or op.leaf or op.view or not op.differentiable, "written in place: a leaf, view or mask"


def test_source_names_are_unique_and_reach_the_parser():
    names = [name for op in REGISTRY.values() for name in op.names]
    assert len(names) == len(set(names))
    assert set(FUNCTIONS) == set(names)
    operators = {op.name for op in REGISTRY.values() if op.operator}
    assert operators == set(BINARY.values()) | set(UNARY.values()) | set(COMPARE.values())


def test_gradc_ops_lists_every_public_op(capsys):
    run_ops(None)
    listing = capsys.readouterr().out
    for op in REGISTRY.values():
        if op.public:
            assert (", ".join(op.names) if op.names else op.doc) in listing, op.name


def test_every_op_module_has_a_section_and_every_named_op_one_place():
    placed = [module for _, modules in SECTIONS for module in modules]
    assert sorted(placed) == op_modules(), "a new gradc/ops module joins a heading in gradc/ops/catalog.py SECTIONS"
    listed = [op.name for _, ops in sections() for op in ops]
    assert sorted(listed) == sorted(name for name, op in REGISTRY.items() if op.names)


def test_gradc_ops_groups_functions_under_their_sections(capsys):
    run_ops(None)
    listing = capsys.readouterr().out
    assert listing.index("Reductions:") < listing.index("    cumsum") < listing.index("Linear algebra:")
    assert listing.index("Activations and softmax:") < listing.index("    softmax") < listing.index("Reductions:")


def test_the_inline_names_are_the_flagged_entries():
    assert INLINE == {name for name, op in REGISTRY.items() if op.inline}


@pytest.mark.parametrize("latex", [False, True], ids=["text", "latex"])
@pytest.mark.parametrize("name", list(REGISTRY))
def test_explain_prints_every_op(name, latex):
    graph, node = example(name)
    assert Printer(graph, latex).print(node)


@pytest.mark.parametrize("name", [name for name, op in REGISTRY.items() if not op.differentiable])
def test_a_zero_derivative_is_none_in_both_modes(name):
    graph, node = example(name)
    out = Value(graph, node)
    args = [Value(graph, a) for a in graph.args(node)]
    op, attrs = REGISTRY[name], graph.attrs(node)
    assert all(c is None for c in op.vjp(out, out, *args, **attrs))
    assert op.jvp(tuple(args), out, *args, **attrs) is None


@pytest.mark.parametrize("name", list(LEAVES))
def test_a_leaf_means_what_its_lowering_writes(name):
    graph, node = example(name)
    arrays = {"a": np.arange(4.0)}
    value = evaluate(graph, arrays)[node]
    op = REGISTRY[name]
    lowering = lowering_of(op).text
    text = lowering(Context({"n": "n"}), **graph.attrs(node)) if callable(lowering) else lowering
    written = eval(text, {"np": np, "n": 4, **arrays})  # noqa: S307 (gradc's own lowering text)
    np.testing.assert_array_equal(value, written)
    assert np.shape(value) == tuple(4 if d == "n" else d for d in graph.shape(node))


def test_a_leaf_is_built_in_the_graph_of_like():
    graph = Graph()
    x = Value(graph, graph.input("x", ("n",)))
    eye = call("eye", shape=("n", "n"), like=x)
    assert eye.graph is graph and graph[eye.node]["op"] == "eye" and eye.shape == ("n", "n")
    graph.outputs = [eye.node]
    np.testing.assert_array_equal(evaluate(graph, {"x": np.zeros(3)})[eye.node], np.eye(3))
