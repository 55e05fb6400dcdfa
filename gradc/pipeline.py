"""The compiler's stages in order: parse, simplify, differentiate, simplify, lower, emit."""
import shlex
from dataclasses import dataclass

from gradc.transform.differentiate import differentiate
from gradc.backend.numpy.emit import emit
from gradc.backend.numpy.specialize import lower
from gradc.errors import GradcError
from gradc.frontend.pyfunc import Function
from gradc.graph import Graph, rebuild
from gradc.frontend.parse import parse
from gradc.shapes import identifier
from gradc.transform.simplify import rewriter, simplify


@dataclass
class Stages:
    parsed: Graph  # as written
    simplified: Graph  # the forward graph after rewriting
    final: Graph  # what the generated code computes: value and gradients, lowered
    wrt: tuple
    source: str  # the generated module
    command: str = ""  # the command line that regenerates it
    readable: bool = False  # emitted as a textbook prints it (see emit), not the fast default


def run(source, wrt=None, shapes=None, command=None, dtype=None, readable=False):
    """Compile `source` (text or a `functions.Function`) through every stage; `wrt` defaults to every input.

    `readable` emits the module as a textbook prints it: no in-place writes, each backward line commented
    with its chain-rule step; the default is the fast module.
    """
    parsed = source.parse(shapes) if isinstance(source, Function) else parse(source, shapes)
    wrt = tuple(parsed.inputs) if wrt is None else _check_wrt(parsed, wrt)
    simplified = simplify(parsed)
    graph, _ = rebuild(simplified, rewriter(("canonicalize", "stabilize")))  # a copy to extend
    if wrt and graph.shape(graph.outputs[0]) == ():  # a vector output has vjp and jvp (see derivatives.py)
        differentiate(graph, wrt)
    final = lower(simplify(graph))
    command = command or default_command(source, shapes, wrt, parsed, readable)
    text = emit(final, wrt, command, dtype=dtype, readable=readable)
    return Stages(parsed, simplified, final, wrt, text, command, readable)


def _check_wrt(graph, wrt):
    wrt = tuple(identifier(name) for name in ((wrt,) if isinstance(wrt, str) else wrt))
    for name in wrt:
        if name not in graph.inputs:
            known = ", ".join(graph.inputs) or "none"
            raise GradcError(f"cannot differentiate with respect to '{name}': not an input (inputs: {known})")
    if len(set(wrt)) != len(wrt):
        raise GradcError("each name may appear in wrt only once")
    return wrt


def default_command(source, shapes, wrt, graph, readable=False):
    """The `gradc compile` command line that regenerates the module."""
    spec = shlex.quote(source.spec) if isinstance(source, Function) else _quote(" ".join(source.split()))
    parts = ["gradc compile", spec]
    if wrt != tuple(graph.inputs):
        parts += [f"--wrt {name}" for name in wrt]
    # NOTE: in input order, not the dict's: gradc.compile caches by sorted shapes, so the order a caller
    # happened to use must not reach the text.
    shapes = shapes or {}
    names = [name for name in graph.inputs if name in shapes] + sorted(set(shapes) - set(graph.inputs))
    for name in names:
        parts.append(f"--shape {name}=" + ",".join(str(d) for d in shapes[name]))
    if readable:
        parts.append("--readable")
    return " ".join(parts)


def _quote(text):
    return "'" + text.replace("'", "'\\''") + "'"
