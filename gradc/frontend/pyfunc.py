"""Python functions in: find a function's source (never running it), and shapes from example arrays.

A function's text goes through `parse.parse_function`, the expression parser with parameters as the
inputs; errors are moved back to the user's file and line. `gradient` is the decorator.
"""
import ast
import inspect
import io
import linecache
import os
import textwrap
import tokenize
from dataclasses import dataclass, field

import numpy as np

from gradc.errors import GradcError
from gradc.frontend.parse import parse_function

SAVE_AS = "save it as UTF-8 (a Python file may declare another encoding: # -*- coding: latin-1 -*-)"


@dataclass(frozen=True)
class Function:
    """The source of one `def`, and where it sits in its file.

    Attributes:
        name: the function's name.
        text: the `def` (with its decorators), dedented.
        filename: the file as the user knows it (the CLI's path, or the function's code filename).
        line: the file line of `text`'s first line.
        indent: columns `textwrap.dedent` removed.
        spec: how `gradc compile` names it: `file.py:name`.
    """
    name: str
    text: str
    filename: str
    line: int
    indent: int
    spec: str
    file_text: str = field(default="", compare=False, repr=False)

    def parse(self, shapes=None):
        """The graph of the function; positioned errors point at the user's file and line."""
        try:
            return parse_function(self.text, shapes)
        except GradcError as error:
            raise self.locate(error) from None

    @property
    def parameters(self):
        args = ast.parse(self.text).body[0].args
        return [arg.arg for arg in args.posonlyargs + args.args + args.kwonlyargs]

    def locate(self, error):
        if error.source != self.text or error.line is None:
            return error
        error.line += self.line - 1
        error.column = None if error.column is None else error.column + self.indent
        error.source = self.file_text or "\n" * (self.line - 1) + textwrap.indent(self.text, " " * self.indent)
        error.filename = self.filename
        return error


def of_callable(func):
    """The Function behind a Python function, read with `inspect` (the function is not called)."""
    if isinstance(func, Function):
        return func
    func = inspect.unwrap(func)
    if not inspect.isfunction(func):
        raise GradcError(f"gradc.compile takes an expression or a Python function, not {type(func).__name__}")
    if func.__name__ == "<lambda>":
        raise GradcError("gradc cannot compile a lambda: define the function with def, or pass an expression string")
    try:
        lines, first = inspect.getsourcelines(func)
    except (OSError, TypeError):
        raise GradcError(f"cannot read the source of {func.__name__}: define it in a file (or a notebook cell), "
                         "or pass an expression string") from None
    filename = inspect.getsourcefile(func) or func.__code__.co_filename
    original = "".join(lines)
    text = textwrap.dedent(original)
    indent = _indent(original) - _indent(text)
    spec = f"{os.path.basename(filename)}:{func.__name__}"  # no directories: the module header has no paths
    return Function(func.__name__, text, filename, max(first, 1), indent, spec,
                    "".join(linecache.getlines(filename)))


def from_file(path, name):
    """The top-level function `name` in the Python file at `path`, found with `ast`: the file is not run."""
    file_text = read_python(path)
    try:
        tree = ast.parse(file_text, filename=path)
    except SyntaxError as error:
        where = f":{error.lineno}" if error.lineno else ""
        raise GradcError(f"{path}{where}: invalid syntax: {error.msg}") from None
    defs = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if name not in defs:
        known = ", ".join(defs) or "none"
        raise GradcError(f"{path} has no top-level function '{name}' (functions: {known})")
    node = defs[name]
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    text = "\n".join(file_text.splitlines()[first - 1:node.end_lineno]) + "\n"
    return Function(name, text, path, first, 0, f"{path}:{name}", file_text)


def read_python(path):
    """A Python file's text in the encoding it declares (PEP 263: a coding line or a BOM; else UTF-8)."""
    with open(path, "rb") as file:
        data = file.read()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:  # an unknown codec, a BOM beside another coding, bytes that are not UTF-8
        raise GradcError(f"cannot read {path}: {error.msg}; {SAVE_AS}") from None
    return decode(data, encoding, path)


def read_text(path):
    """An expression file's text: UTF-8, with a byte-order mark dropped."""
    with open(path, "rb") as file:
        return decode(file.read(), "utf-8-sig", path)


def decode(data, encoding, path):
    """`data` as text; a binary file, or bytes that are not `encoding`, is a one-line GradcError."""
    if b"\0" in data:
        raise GradcError(f"{path} is a binary file (it holds NUL bytes), not source text")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        name = encoding.removesuffix("-sig").upper()
        raise GradcError(f"cannot read {path}: byte {error.start} (0x{data[error.start]:02x}) is not "
                         f"{name} text; {SAVE_AS}") from None
    # As text mode would: the parser and the line numbers of errors expect \n only.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def function_names(path):
    """The top-level functions of the Python file at `path`, found with `ast` (none where it does not parse)."""
    try:
        tree = ast.parse(read_python(path), filename=path)
    except SyntaxError:
        return []
    return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _indent(text):
    first = next((line for line in text.splitlines() if line.strip()), "")
    return len(first) - len(first.lstrip())


def shapes_from_example(example, avoid=()):
    """Shapes with named dims, and the float dtype, from example arrays.

    Each distinct size other than 1 gets one name, `d0, d1, ...` in order of first appearance, so equal
    sizes share a name: the compiled module serves any sizes that keep the example's equalities (X of
    (256, 784) and w of (784,) give X: (d0, d1), w: (d1,)). Size 1 stays 1, so it broadcasts. The dtype
    is NumPy's result type of the examples: ints and bools count as float64; anything else is an error.
    """
    if not isinstance(example, dict):
        raise GradcError(f"example= is a dict of input name -> example array, not {type(example).__name__}")
    names, shapes, dtypes = {}, {}, []
    for key, value in example.items():
        array = np.asarray(value)
        if array.dtype.kind not in "fiub":
            raise GradcError(f"example {key} has dtype {array.dtype}: gradc differentiates real floats")
        dtypes.append(array.dtype if array.dtype.kind == "f" else np.dtype(np.float64))
        for size in array.shape:
            if size != 1 and size not in names:
                names[size] = _fresh(len(names), set(avoid) | set(example), names.values())
        shapes[key] = tuple(1 if size == 1 else names[size] for size in array.shape)
    return shapes, (np.result_type(*dtypes) if dtypes else None)


def _fresh(k, avoid, used):
    while f"d{k}" in avoid or f"d{k}" in used:
        k += 1
    return f"d{k}"
