"""The compiler's stages in order: parse, simplify, differentiate, simplify, lower, emit."""
import shlex
from dataclasses import dataclass

from gradc.differentiate import differentiate
from gradc.emit import emit
from gradc.errors import GradcError
from gradc.functions import Function
from gradc.graph import Graph
from gradc.parse import parse
from gradc.simplify import lower, rewriter, simplify


@dataclass
class Stages:
    parsed: Graph  # as written
    simplified: Graph  # the forward graph after rewriting
    final: Graph  # what the generated code computes: value and gradients, lowered
    wrt: tuple
    source: str  # the generated module


def run(source, wrt=None, shapes=None, command=None):
    """Compile `source` (text or a `functions.Function`) through every stage; `wrt` defaults to every input."""
    parsed = source.parse(shapes) if isinstance(source, Function) else parse(source, shapes)
    wrt = tuple(parsed.inputs) if wrt is None else _check_wrt(parsed, wrt)
    simplified = simplify(parsed)
    graph = simplify(simplified)  # a copy to extend with the backward pass
    graph.rewrite = rewriter(("canonicalize", "stabilize"))
    if wrt:
        differentiate(graph, wrt)
    final = lower(simplify(graph))
    text = emit(final, wrt, command or default_command(source, shapes, wrt, parsed))
    return Stages(parsed, simplified, final, wrt, text)


def _check_wrt(graph, wrt):
    wrt = (wrt,) if isinstance(wrt, str) else tuple(wrt)
    for name in wrt:
        if name not in graph.inputs:
            known = ", ".join(graph.inputs) or "none"
            raise GradcError(f"cannot differentiate with respect to '{name}': not an input (inputs: {known})")
    if len(set(wrt)) != len(wrt):
        raise GradcError("each name may appear in wrt only once")
    return wrt


def default_command(source, shapes, wrt, graph):
    """The `gradc compile` command line that regenerates the module."""
    spec = shlex.quote(source.spec) if isinstance(source, Function) else _quote(" ".join(source.split()))
    parts = ["gradc compile", spec]
    if wrt != tuple(graph.inputs):
        parts += [f"--wrt {name}" for name in wrt]
    for name, dims in (shapes or {}).items():
        parts.append(f"--shape {name}=" + ",".join(str(d) for d in dims))
    return " ".join(parts)


def _quote(text):
    return "'" + text.replace("'", "'\\''") + "'"
