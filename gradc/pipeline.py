"""The compiler's stages in order: parse, simplify, differentiate, simplify, lower, emit."""
import ast
import difflib
import shlex
from dataclasses import dataclass

from gradc.transform.differentiate import differentiate
from gradc.backend.array_api import emit as array_api
from gradc.backend.numpy.emit import emit
from gradc.backend.numpy.emit_derived import derive
from gradc.backend.numpy.specialize import lower
from gradc.errors import GradcError, ShapeError
from gradc.frontend.pyfunc import Function
from gradc.graph import Graph, rebuild
from gradc.frontend.parse import BINARY, CONSTANTS, FUNCTIONS, NUMPY, UNARY, parse, parse_function, with_deep_stack
from gradc.ops import REGISTRY
from gradc.shapes import Int, identifier
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
    backend: str = "numpy"  # the EMITTERS entry that wrote `source`
    forward: Graph = None  # what the module's forward computes: the value alone, lowered on its own


# backend name -> its emit (gradc.compile(..., backend=...), gradc compile --backend)
EMITTERS = {"numpy": emit, "array-api": array_api.emit}
SEARCH_SOURCE = 4000  # characters: past this an undeclared input's hint does not try shapes for it


class UnusedShapeError(ShapeError):
    """`shapes=` (or --shape) names something that is not an input of the source: a typo, most often."""


def run(source, wrt=None, shapes=None, command=None, dtype=None, readable=False, strict=False, backend="numpy"):
    """Compile `source` (text or a `functions.Function`) through every stage; `wrt` defaults to every input.

    `wrt` holds input names, or positions in the inputs' order (`INPUTS`: a function's parameters, or a source's
    names in order of first appearance). `readable` emits the module as a textbook prints it: no in-place writes,
    each backward line commented with its chain-rule step; the default is the fast module. `strict` refuses a
    shape for a name that is not an input (an UnusedShapeError with a did-you-mean); otherwise it is ignored.
    """
    parsed = parse_source(source, shapes, strict)
    wrt = differentiable(parsed) if wrt is None else _check_wrt(parsed, wrt)
    command = command or default_command(source, shapes, wrt, parsed, readable, backend)
    return run_graph(parsed, wrt, command, dtype=dtype, readable=readable, backend=backend)


def run_graph(parsed, wrt, command, dtype=None, readable=False, derived=(), backend="numpy"):
    """The stages after parsing, for a graph as written: one parsed here, or one that gradc.cluster builds from
    the parts of a loss (the per-chunk kernels and what follows the sums over rows). `derived` names functions
    to add to the module besides value_and_grad (see `gradc.transform.derivatives.KINDS`: "hessian")."""
    simplified = simplify(parsed)
    graph, _ = rebuild(simplified, rewriter(("canonicalize", "stabilize")))  # a copy to extend
    gradient = wrt and graph.shape(graph.outputs[0]) == ()  # a vector output has vjp and jvp (see derivatives.py)
    if gradient:
        differentiate(graph, wrt)
    final = lower(simplify(graph))
    # NOTE: the value's own lowering: the gradient's may shape it for the gradient (a solve made a product with
    # the inverse the gradient needs), which costs a forward pass alone more than it saves
    forward = lower(simplified) if gradient else final
    extra = derive(simplified, wrt, derived) if derived else ()
    if backend not in EMITTERS:
        raise GradcError(f"unknown backend {backend!r}: one of {', '.join(EMITTERS)}")
    text = EMITTERS[backend](final, wrt, command, extra, dtype=dtype, readable=readable, forward=forward)
    return Stages(parsed, simplified, final, wrt, text, command, readable, backend, forward)


def parse_source(source, shapes=None, strict=False):
    """The graph of `source` as written. A shape error that an undeclared input (a scalar) explains says so."""
    shapes = shapes or {}
    function = isinstance(source, Function)
    text, parse_text = (source.text, parse_function) if function else (source, parse)
    try:
        graph = parse_text(text, shapes)
    except ShapeError as error:
        error = _explain_undeclared(error, text, shapes, parse_text, function, strict)
        raise (source.locate(error) if function else error) from None
    except GradcError as error:
        raise (source.locate(error) if function else error) from None
    if strict:
        check_shapes_used(graph.inputs, shapes)
    return graph


def check_shapes_used(inputs, shapes):
    """Raise an UnusedShapeError, with a did-you-mean, where `shapes` names something that is not an input."""
    stray = [name for name in shapes if name not in inputs]
    if not stray:
        return
    inputs = list(inputs)
    close = {name: _close(name, inputs) for name in stray}
    guesses = [f"{name} -> {guess}" for name, guess in close.items() if guess]
    if len(stray) == 1 and guesses:
        mean = f": did you mean {close[stray[0]]}?"
    elif guesses:
        mean = f": did you mean {', '.join(guesses)}?"
    else:
        mean = ""
    what = f"{stray[0]}, which is not an input" if len(stray) == 1 else f"{', '.join(stray)}, which are not inputs"
    raise UnusedShapeError(f"a shape is given for {what}{mean} (inputs: {', '.join(inputs) or 'none'})")


def _close(name, names):
    """The name in `names` that `name` most likely misspells: difflib's closest, or one that differs only in case."""
    same = [other for other in names if other.lower() == name.lower()]
    if same:
        return same[0]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return close[0] if close else None


def _explain_undeclared(error, text, shapes, parse_text, function, strict):
    """`error` with, where the failing operation reads undeclared inputs (scalars), their names and a shape to
    declare for each, when trying the source's dims finds one. A shape given for a misspelled name is the cause
    where there is one: strict, that is the error; otherwise it is named beside the hint."""
    if error.line is None:
        return error
    try:
        reads = with_deep_stack(lambda: _Reads(text, function))  # as deep as the parser reads
    except (GradcError, SyntaxError, ValueError, RecursionError, MemoryError):  # nothing to add where it cannot
        return error
    if strict:
        try:
            check_shapes_used(reads.inputs, shapes)
        except UnusedShapeError as stray:
            return stray
    declared = {**reads.declared, **shapes}
    operation = error.message.split(":", 1)[0]
    undeclared = [name for name in reads.at(error.line, error.column, operation) if name not in declared]
    if not undeclared:
        return error
    position = (error.line, error.column)
    search = len(text) <= SEARCH_SOURCE  # each try is a parse: only for a source of a few lines
    suggested = {name: _suggest(name, text, shapes, declared, parse_text, position) if search else None
                 for name in undeclared}
    python = ", ".join(f'"{name}": {_python_dims(dims)}' for name, dims in suggested.items())
    flags = " ".join(f"--shape {name}={_flag_dims(dims)}" for name, dims in suggested.items())
    if len(undeclared) == 1:
        hint = f"{undeclared[0]} is undeclared, so a scalar: declare it"
    else:
        hint = f"{' and '.join(undeclared)} are undeclared, so scalars: declare them"
    hint += f" (shapes={{{python}}} / {flags})"
    stray = [f"{name}: did you mean {_close(name, undeclared)}?" for name in shapes
             if name not in reads.inputs and _close(name, undeclared)]
    if stray:
        hint += f"; a shape is given for {'; '.join(stray)}"
    hinted = ShapeError(f"{error.message}; {hint}", error.source, error.line, error.column)
    hinted.filename = error.filename
    return hinted


def _suggest(name, text, shapes, declared, parse_text, position):
    """A shape for the undeclared input `name` that gets the source past the failing operation, built from the
    dims declared elsewhere: the one vector (else matrix) shape that compiles it whole, else the one that gets
    past `position`; None where there is none, or more than one."""
    dims = list(dict.fromkeys(d for shape in declared.values() for d in shape if d != 1))
    ranks = [[(a,) for a in dims]]
    if len(dims) <= 6:
        ranks.append([(a, b) for a in dims for b in dims])
    whole, past = [], []
    for candidates in ranks:
        compiles, passes = [], []
        for candidate in candidates:
            try:
                parse_text(text, {**shapes, name: candidate})
            except ShapeError as error:
                if (error.line, error.column) != position:
                    passes.append(candidate)
                continue
            except GradcError:
                continue
            compiles.append(candidate)
        whole.append(compiles)
        past.append(passes)
    for found in whole + past:
        if found:
            return found[0] if len(found) == 1 else None
    return None


def _python_dims(dims):
    if dims is None:
        return "(...)"
    items = [f'"{d}"' if isinstance(d, str) else str(d) for d in dims]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _flag_dims(dims):
    return "..." if dims is None else ",".join(str(d) for d in dims)


class _Reads:
    """What a source reads, found with `ast` where the parse failed: its inputs in order of first appearance
    (a function's: its parameters), the shapes it declares itself (`X: (n, d)`), and for each operation (by
    line and column) the inputs it reads, through the names assigned before it."""

    def __init__(self, text, function):
        tree = ast.parse(text)
        self.lines = text.splitlines() or [""]
        self.inputs, self.declared, self.locals, self.operations = [], {}, {}, {}
        body = tree.body
        if function:
            node = tree.body[0]
            args = node.args
            self.inputs = [arg.arg for arg in args.posonlyargs + args.args + args.kwonlyargs]
            body = node.body
        for statement in body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                    and isinstance(statement.targets[0], ast.Name):
                self.locals[statement.targets[0].id] = self._reads(statement.value)
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                items = statement.annotation.elts if isinstance(statement.annotation, ast.Tuple) else \
                    [statement.annotation]
                self.declared[identifier(statement.target.id)] = tuple(
                    item.id if isinstance(item, ast.Name) else getattr(item, "value", None) for item in items)
            elif isinstance(statement, (ast.Expr, ast.Return)) and statement.value is not None:
                self._reads(statement.value)

    def at(self, line, column, operation):
        """The inputs the operation at `line` and `column` reads: of those starting there (`X@w` and `X@w - y`
        both start at X), the innermost that `operation` (the error's `@:`, `add:`) names, else the outermost."""
        found = self.operations.get((line, column), [])
        named = [reads for labels, reads in found if operation in labels]
        return named[0] if named else (found[-1][1] if found else [])

    def _reads(self, node):
        if isinstance(node, ast.Name):
            name = identifier(node.id)
            if name in self.locals:
                return self.locals[name]
            if name in CONSTANTS or name in FUNCTIONS or name in NUMPY:
                return []
            if name not in self.inputs:
                self.inputs.append(name)
            return [name]
        if isinstance(node, ast.Call):
            children = list(node.args) + [keyword.value for keyword in node.keywords]
            if not isinstance(node.func, ast.Name):
                children.insert(0, node.func)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in NUMPY:
            return []
        else:
            children = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]
        reads = list(dict.fromkeys(name for child in children for name in self._reads(child)))
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call, ast.Attribute, ast.Subscript)):
            self.operations.setdefault((node.lineno, self._column(node)), []).append((_labels(node), reads))
        return reads

    def _column(self, node):
        """The character column, as the parser counts it (ast gives UTF-8 byte offsets)."""
        line = self.lines[node.lineno - 1] if node.lineno <= len(self.lines) else ""
        return len(line.encode()[:node.col_offset].decode(errors="ignore"))


def _labels(node):
    """The names a shape error of the operation `node` may begin with: its op's name, operator and symbol."""
    if isinstance(node, ast.BinOp):
        name = BINARY.get(type(node.op))
    elif isinstance(node, ast.UnaryOp):
        name = UNARY.get("-")
    elif isinstance(node, ast.Subscript):
        name = UNARY.get("[]")
    elif isinstance(node, ast.Attribute):
        name = UNARY.get(".T")
    else:
        func = node.func
        written = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        name = FUNCTIONS[written].name if written in FUNCTIONS else written
    op = REGISTRY.get(name)
    return {label for label in (name, getattr(op, "operator", None), getattr(op, "symbol", None)) if label}


def _check_wrt(graph, wrt):
    inputs = tuple(graph.inputs)
    names = []
    for item in ((wrt,) if isinstance(wrt, (str, int)) else wrt):
        if isinstance(item, int) and not isinstance(item, bool):
            if not -len(inputs) <= item < len(inputs):
                numbered = ", ".join(f"{k}: {name}" for k, name in enumerate(inputs)) or "none"
                raise GradcError(f"cannot differentiate with respect to position {item}: there are {len(inputs)} "
                                 f"inputs (positions {numbered})")
            item = inputs[item]
        names.append(identifier(item))
    for name in names:
        if name not in graph.inputs:
            known = ", ".join(graph.inputs) or "none"
            raise GradcError(f"cannot differentiate with respect to '{name}': not an input (inputs: {known})")
    if len(set(names)) != len(names):
        raise GradcError("each name may appear in wrt only once")
    integers = [name for name in names if name in graph.integer_inputs()]
    if integers:
        raise GradcError(f"cannot differentiate with respect to '{integers[0]}': it is an integer input (indices), "
                         f"which has no gradient; leave it out of wrt (by default wrt is every other input)")
    return tuple(names)


def differentiable(graph):
    """The default wrt: every input but the integer ones (indices have no gradient)."""
    integers = graph.integer_inputs()
    return tuple(name for name in graph.inputs if name not in integers)


def default_command(source, shapes, wrt, graph, readable=False, backend="numpy"):
    """The `gradc compile` command line that regenerates the module."""
    spec = shlex.quote(source.spec) if isinstance(source, Function) else _quote(" ".join(source.split()))
    parts = ["gradc compile", spec]
    if wrt != differentiable(graph):
        parts += [f"--wrt {name}" for name in wrt]
    # NOTE: in input order, not the dict's: gradc.compile caches by sorted shapes, so the order a caller
    # happened to use must not reach the text.
    shapes = shapes or {}
    names = [name for name in graph.inputs if name in shapes] + sorted(set(shapes) - set(graph.inputs))
    for name in names:
        kind = "int:" if isinstance(shapes[name], Int) else ""
        parts.append(f"--shape {name}={kind}" + ",".join(str(d) for d in shapes[name]))
    if readable:
        parts.append("--readable")
    if backend != "numpy":
        parts.append(f"--backend {backend}")
    return " ".join(parts)


def _quote(text):
    return "'" + text.replace("'", "'\\''") + "'"
