"""Pictures: the DOT text's nodes, edges and labels for the lecture circuits; files where `dot` exists."""
import argparse
import re
import shutil

import graphviz
import numpy as np
import pytest

import gradc
from gradc import pipeline
from gradc.cli.arguments import parse_value
from gradc.cli.render import add_render_parser
from gradc.viz.layout import write
from gradc.viz.render import RenderError, render
from gradc.viz.values import backward, point, summary

HAVE_DOT = shutil.which("dot") is not None
NEURON = "1 / (1 + exp(-(w0 + w1*x1 + w2*x2)))"
NEURON_AT = dict(w0=-3.0, w1=2.0, x1=-1.0, w2=-3.0, x2=-2.0)


def picture(source, at=None, shapes=None, **options):
    stages = pipeline.run(source, shapes=shapes)
    return stages, render(stages, at=at, **options).source


def nodes(dot):
    """Node id -> its label text with the HTML markup stripped, lines joined by |."""
    found = {}
    for name, label in re.findall(r"^\s*(\w+) \[label=<(.*?)> (?=\w+=|\])", dot, re.M):
        text = re.sub(r"<BR/>", "|", label)
        found[name] = re.sub(r"<[^>]+>", "", text)
    return found


def edges(dot):
    """(tail, head) -> edge label ('' when it has none), for every edge (repeats kept in a list)."""
    found = []
    for tail, head, attrs in re.findall(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$", dot, re.M):
        label = re.search(r'label=("(?:[^"\\]|\\.)*"|[^\s\]]+)', attrs or "")
        found.append((tail, head, label.group(1).strip('"') if label else ""))
    return found


def node_of(stages, name):
    return stages.final.inputs[name]


def label_of(dot, node_id):
    return nodes(dot)[node_id].split("|")


def edge_label(dot, tail, head):
    return [label for t, h, label in edges(dot) if (t, h) == (tail, head)]


def test_circuit_forward_counts_and_values():
    stages, dot = picture("(x + y) * z", dict(x=-2, y=5, z=-4), pass_="forward")
    assert len(nodes(dot)) == 5 and len(edges(dot)) == 4
    g = stages.final
    add, mul = g.args(g.outputs[0])[0], g.outputs[0]
    assert label_of(dot, f"f{add}") == ["+", "t1", "3"]
    assert label_of(dot, f"f{mul}") == ["×", "f = t2", "-12"]
    assert label_of(dot, f"f{node_of(stages, 'x')}") == ["x", "-2"]


def test_circuit_backward_lecture_numbers():
    stages, dot = picture("(x + y) * z", dict(x=-2, y=5, z=-4), pass_="backward")
    assert len(nodes(dot)) == 5 and len(edges(dot)) == 4
    x, y, z = (node_of(stages, n) for n in "xyz")
    add, mul = stages.final.args(stages.final.outputs[0])[0], stages.final.outputs[0]
    assert label_of(dot, f"b{x}")[-1] == "-4" and label_of(dot, f"b{y}")[-1] == "-4"
    assert label_of(dot, f"b{z}")[-1] == "3"
    assert label_of(dot, f"b{mul}")[-1] == "1 (seed)"
    # the add gate hands its -4 on unchanged; the multiply gate sends z's value to x + y and vice versa
    assert edge_label(dot, f"b{x}", f"b{add}") == ["-4"] and edge_label(dot, f"b{y}", f"b{add}") == ["-4"]
    assert edge_label(dot, f"b{add}", f"b{mul}") == ["-4"] and edge_label(dot, f"b{z}", f"b{mul}") == ["3"]
    assert 'dir=back' in dot


def test_branching_draws_the_sum_of_two_flows_into_x():
    stages, dot = picture("x / (x + y)", dict(x=-1, y=2), pass_="backward")
    x, y = node_of(stages, "x"), node_of(stages, "y")
    assert len(nodes(dot)) == 5 and len(edges(dot)) == 5  # x, y, +, /, and the branch sum
    assert label_of(dot, f"s{x}") == ["+", "sum into x", "2"]
    into_sum = [label for tail, head, label in edges(dot) if tail == f"s{x}"]
    assert sorted(into_sum) == ["1", "1"]  # one from the divide gate, one through the add gate
    assert edge_label(dot, f"b{x}", f"s{x}") == ["2"]
    assert label_of(dot, f"b{x}")[-1] == "2" and label_of(dot, f"b{y}")[-1] == "1"


def test_gates_add_distributes_max_routes_multiply_swaps():
    stages, dot = picture("3 * (x*y + max(z, w))", dict(x=3, y=-4, z=2, w=-1), pass_="backward")
    g = stages.final
    x, y, z, w = (node_of(stages, n) for n in "xyzw")
    mul = next(c for c in g.consumers(x) if g[c]["op"] == "mul")
    big = next(c for c in g.consumers(z) if g[c]["op"] == "maximum")
    add = g.consumers(mul)[0]
    assert edge_label(dot, f"b{mul}", f"b{add}") == ["3"] and edge_label(dot, f"b{big}", f"b{add}") == ["3"]
    assert edge_label(dot, f"b{z}", f"b{big}") == ["3"] and edge_label(dot, f"b{w}", f"b{big}") == ["0"]
    assert edge_label(dot, f"b{x}", f"b{mul}") == ["-12"] and edge_label(dot, f"b{y}", f"b{mul}") == ["9"]
    constant = next(n for n in g.order([g.outputs[0]]) if g[n]["op"] == "const")
    assert "dotted" in dot and label_of(dot, f"b{constant}") == ["3"]  # a constant gets no gradient


def test_neuron_is_drawn_with_a_sigmoid_gate_and_the_lecture_gradients():
    stages, dot = picture(NEURON, NEURON_AT)
    labels = nodes(dot)
    assert any(text.startswith("σ") and text.endswith("0.7311") for text in labels.values())
    expected = dict(w0="0.1966", w1="-0.1966", x1="0.3932", w2="-0.3932", x2="-0.5898")
    for name, value in expected.items():
        assert label_of(dot, f"b{node_of(stages, name)}")[-1] == value
    _, parsed = picture(NEURON, NEURON_AT, pass_="forward", stage="parsed")
    assert "exp" in parsed and "σ" not in parsed  # as written: the lecture's fine-grained circuit


def test_least_squares_labels_show_shapes_and_summaries():
    shapes = {"X": ("n", "d"), "w": ("d",), "y": ("n",)}
    X = np.arange(12.0).reshape(6, 2)
    stages, dot = picture("0.5*sum((X @ w - y)**2)", dict(X=X, w=np.array([1.0, -1.0]), y=np.ones(6)), shapes)
    assert label_of(dot, f"f{node_of(stages, 'X')}") == ["X", "n×d = 6×2", "min 0", "mean 5.5", "max 11"]
    fn = gradc.compile("0.5*sum((X @ w - y)**2)", shapes=shapes)
    grad_w = fn.grad(X=X, w=np.array([1.0, -1.0]), y=np.ones(6))["w"]
    assert label_of(dot, f"b{node_of(stages, 'w')}")[-1] == summary(grad_w)


@pytest.mark.parametrize("source, shapes, at", [
    ("x / (x + y)", None, dict(x=-1.0, y=2.0)),
    ("x*x + sin(x) * y", None, dict(x=0.7, y=-1.3)),
    ("sum(x / (x + y))", {"x": ("n",)}, dict(x=np.array([1.0, 2.0, 3.0]), y=0.5)),
    ("sum(tanh(X @ w) * w[0])", {"X": ("n", "d"), "w": ("d",)},
     dict(X=np.arange(6.0).reshape(3, 2) / 6, w=np.array([0.3, -0.2]))),
])
def test_edge_flows_add_up_to_the_compiled_gradients(source, shapes, at):
    stages = pipeline.run(source, shapes=shapes)
    graph = stages.final
    flows = backward(graph, stages.wrt, point(graph, at))
    grads = gradc.compile(source, shapes=shapes).grad(**at)
    for name, node in graph.inputs.items():
        arriving = sum(flows.edge[use] for use in flows.uses[node])
        np.testing.assert_allclose(arriving, grads[name], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(flows.adjoint[node], grads[name], rtol=1e-12, atol=1e-12)


def test_every_stage_pairs_its_forward_panel_with_its_own_backward_panel():
    """As written, the neuron is the lecture's circuit of exp, + and /, differentiated gate by gate."""
    stages, dot = picture(NEURON, NEURON_AT, stage="parsed")
    parsed = stages.parsed
    drawn = nodes(dot)
    forward_ids = {name[1:] for name in drawn if name.startswith("f")}
    assert forward_ids == {name[1:] for name in drawn if name.startswith("b")}
    assert any(text.startswith("exp") for text in drawn.values()) and "σ" not in dot
    expected = dict(w0="0.1966", w1="-0.1966", x1="0.3932", w2="-0.3932", x2="-0.5898")
    for name, value in expected.items():
        assert label_of(dot, f"b{parsed.inputs[name]}")[-1] == value


TWO_LAYER = "h = tanh(X@W1 + b1)  # hidden layer\np = sigmoid(h@w2 + b2); mean((p - y)**2)"
TWO_LAYER_SHAPES = {"X": ("n", "d"), "W1": ("d", "k"), "b1": ("k",), "w2": ("k",), "y": ("n",)}


def two_layer_point():
    rng = np.random.default_rng(0)
    return dict(X=rng.normal(size=(4, 3)), W1=rng.normal(size=(3, 2)), b1=rng.normal(size=2),
                w2=rng.normal(size=2), b2=0.1, y=rng.uniform(size=4))


def test_a_long_chain_is_drawn_top_to_bottom_with_every_statement_in_the_title():
    _, dot = picture(TWO_LAYER, two_layer_point(), TWO_LAYER_SHAPES)
    assert "rankdir=TB" in dot and "values flow top to bottom" in dot
    assert "f(X, W1, b1, w2, b2, y): h = tanh(X@W1 + b1); p = sigmoid(h@w2 + b2); f = mean((p - y)**2)" in dot
    _, forced = picture(TWO_LAYER, two_layer_point(), TWO_LAYER_SHAPES, layout="lr")
    assert "rankdir=LR" in forced
    _, circuit = picture("(x + y) * z")
    assert "rankdir=LR" in circuit


@pytest.mark.skipif(not HAVE_DOT, reason="needs Graphviz's dot")
def test_the_two_layer_network_at_values_fits_2400_pixels_square(tmp_path):
    stages = pipeline.run(TWO_LAYER, shapes=TWO_LAYER_SHAPES)
    png = write(render(stages, at=two_layer_point()), tmp_path / "two_layer.png").read_bytes()
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width <= 2400 and height <= 2400, (width, height)


def test_a_mean_count_is_named_by_its_dimension_and_vectors_are_summarised():
    stages, dot = picture("mean(exp(x))", dict(x=np.array([0.0, 1.0, 2.0, 3.0])), {"x": ("n",)})
    drawn = nodes(dot)
    assert "n = 4" in drawn.values() and not any("size" in text for text in drawn.values())
    assert label_of(dot, f"f{node_of(stages, 'x')}") == ["x", "n = 4", "min 0", "mean 1.5", "max 3"]
    _, short = picture("sum(exp(x))", dict(x=np.array([0.0, 1.0, 2.0])), {"x": ("n",)})
    assert "[0, 1, 2]" in short


def test_a_vector_output_says_what_seeds_it():
    _, dot = picture("tanh(x)", dict(x=np.array([0.0, 1.0])), {"x": ("n",)}, pass_="backward")
    assert "seeded with ones, so this is the gradient of sum(f)" in dot
    _, scalar = picture("tanh(x)", dict(x=0.5), pass_="backward")
    assert "seeded" not in scalar


def test_without_a_point_the_picture_shows_structure_only():
    stages, dot = picture("x / (x + y)")
    assert f"s{node_of(stages, 'x')}" in nodes(dot)
    assert "seed" not in dot and "-1" not in dot


def test_compiled_function_render_returns_a_digraph():
    fn = gradc.compile("(x + y) * z")
    assert isinstance(fn.render(at=dict(x=-2, y=5, z=-4)), graphviz.Digraph)


@pytest.mark.parametrize("options, message", [
    (dict(pass_="sideways"), "unknown pass"),
    (dict(stage="raw"), "unknown stage"),
    (dict(layout="round"), "unknown layout 'round': choose one of auto, lr, tb"),
    (dict(at=dict(q=1.0)), "q, which is not an input"),
    (dict(at=dict(x=1.0)), "no value given for y"),
])
def test_bad_requests_raise_one_line_errors(options, message):
    with pytest.raises(gradc.GradcError, match=re.escape(message)) as info:
        render(pipeline.run("x / (x + y)"), **options)
    assert "\n" not in str(info.value)


def test_parse_value():
    assert parse_value("-2") == -2.0
    np.testing.assert_array_equal(parse_value("-3,2,-3"), [-3.0, 2.0, -3.0])
    np.testing.assert_array_equal(parse_value("1,2;3,4"), [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError):
        parse_value("")


def run_cli(*argv):
    parser = argparse.ArgumentParser()
    add_render_parser(parser.add_subparsers())
    args = parser.parse_args(["render", *argv])
    return args.run(args)


def test_cli_writes_dot_from_a_source_file(tmp_path):
    source = tmp_path / "f.txt"
    source.write_text("sum(w * x)\n")
    out = tmp_path / "f.dot"
    assert run_cli(str(source), "--at", "w=-3,2,-3", "--at", "x=1,2,3", "-o", str(out)) == 0
    text = out.read_text()
    assert text.startswith("digraph") and "[-3, 2, -3]" in text and "[1, 2, 3]" in text


def test_cli_takes_a_python_function_as_source(tmp_path):
    (tmp_path / "circuit.py").write_text("def f(x, y, z):\n    return (x + y) * z\n")
    at = ["--at", "x=-2", "--at", "y=5", "--at", "z=-4"]
    assert run_cli(f"{tmp_path / 'circuit.py'}:f", *at, "-o", str(tmp_path / "f.dot")) == 0
    assert run_cli("(x + y) * z", *at, "-o", str(tmp_path / "e.dot")) == 0
    text = (tmp_path / "f.dot").read_text()
    assert text.startswith("digraph") and "-12" in text
    assert text == (tmp_path / "e.dot").read_text()


def test_cli_reads_the_point_from_npz_and_rejects_unknown_suffixes(tmp_path):
    np.savez(tmp_path / "p.npz", X=np.eye(2), w=np.array([1.0, 2.0]))
    out = tmp_path / "m.dot"
    run_cli("sum(X @ w)", "--shape", "X=n,d", "--shape", "w=d", "--at-file", str(tmp_path / "p.npz"),
            "--pass", "forward", "-o", str(out))
    assert "cluster_backward" not in out.read_text()
    with pytest.raises(RenderError, match="ending in .svg, .png, .pdf or .dot"):
        run_cli("x", "-o", str(tmp_path / "x.txt"))


def test_without_graphviz_dot_files_work_and_images_say_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    dot = render(pipeline.run("x * y"), at=dict(x=2.0, y=3.0))
    write(dot, tmp_path / "ok.dot")
    with pytest.raises(RenderError, match="apt-get install graphviz") as info:
        write(dot, tmp_path / "no.png")
    assert "\n" not in str(info.value) and not (tmp_path / "no.png").exists()


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's dot is not installed")
def test_svg_and_png_are_produced(tmp_path):
    fn = gradc.compile("x / (x + y)")
    dot = fn.render(at=dict(x=-1.0, y=2.0))
    svg, png = write(dot, tmp_path / "b.svg"), write(dot, tmp_path / "b.png")
    assert "<svg" in svg.read_text() and "sum into x" in svg.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run_cli("(x + y) * z", "--at", "x=-2", "--at", "y=5", "--at", "z=-4", "-o", str(tmp_path / "c.pdf")) == 0
    assert (tmp_path / "c.pdf").read_bytes()[:4] == b"%PDF"


def test_cli_reads_scalars_from_an_npz(tmp_path):
    np.savez(tmp_path / "point.npz", x=np.float64(-2.0), y=np.float64(5.0))
    out = tmp_path / "scalars.dot"
    assert run_cli("x*y", "--at-file", str(tmp_path / "point.npz"), "-o", str(out)) == 0
    assert "-10" in out.read_text()
