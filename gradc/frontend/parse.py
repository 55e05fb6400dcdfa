"""Source text -> graph: a whitelist walk over Python's `ast`; user text is never executed."""
import ast
import math
import sys
import threading

import numpy as np

from gradc import dimensions, shapes as shape_rules
from gradc.errors import ParseError, ShapeError, UnknownNameError
from gradc.frontend.gathers import INDEXED, Gathers
from gradc.graph import Graph, Span
from gradc.naming import RESERVED
from gradc.ops import REGISTRY
from gradc.ops.construction import LITERAL
from gradc.ops.contractions import explicit
from gradc.ops.indexing import Slice
from gradc.ops.masks import MASKS

# The source language's names and operators, from the op entries: every op is called by its `names` (also as
# np.<name>), takes its `keywords`, and is written with its `operator`.
FUNCTIONS = {name: op for op in REGISTRY.values() for name in op.names}
# Python's own max(a, b) and min(a, b), written without np.: the elementwise larger or smaller of two operands.
BUILTINS = {op.builtin: op.name for op in REGISTRY.values() if op.builtin}
# A reduction named like a builtin (np.max), misread as the builtin's two-operand op: amax -> maximum.
TWINS = {FUNCTIONS[name].name: twin for name, twin in BUILTINS.items() if name in FUNCTIONS}
_PYTHON_BINARY = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "**": ast.Pow, "@": ast.MatMult,
                  "&": ast.BitAnd, "|": ast.BitOr}
_PYTHON_COMPARE = {"<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE, "==": ast.Eq, "!=": ast.NotEq}
BINARY = {_PYTHON_BINARY[op.operator]: op.name for op in REGISTRY.values()
          if op.arity == 2 and op.operator in _PYTHON_BINARY}
COMPARE = {_PYTHON_COMPARE[op.operator]: op.name for op in REGISTRY.values() if op.operator in _PYTHON_COMPARE}
LOGICAL = {"logical_and": "&", "logical_or": "|", "logical_not": "~"}  # ops whose operands must be masks
# What an operand written None stands for: clip(x, None, 1) has no lower bound.
OPEN_BOUNDS = {"clip": (None, -math.inf, math.inf)}
UNARY = {op.operator: op.name for op in REGISTRY.values() if op.arity == 1 and op.operator}  # -x, x.T, x[i]
CONSTANTS = {"pi": math.pi}  # by bare name; e, a common input name, only as np.e
NUMPY_CONSTANTS = {**CONSTANTS, "e": math.e, "inf": math.inf}  # np.pi, np.e, np.inf
NUMPY = ("np", "numpy")
# `x.sum(axis=1)` is `sum(x, axis=1)`: a method call binds its receiver first, for the names NumPy's arrays
# have as methods (reshape and transpose also take their shape or axes as separate arguments: x.reshape(n, d)).
METHODS = frozenset(name for name in dir(np.ndarray) if not name.startswith("_"))
VARARGS = frozenset({"reshape", "transpose"})
# NumPy functions gradc does not compile, each with what to write instead.
UNSUPPORTED_FUNCTIONS = {
    "sort": "sort has no gradient gradc can write as straight-line code: a permutation depends on the values",
    "argsort": "argsort gives integers, with no gradient",
    "argmax": "argmax gives an integer, with no gradient: use max(x, axis) for the value, or softmax for a smooth "
              "choice",
    "argmin": "argmin gives an integer, with no gradient: use min(x, axis) for the value",
    "split": "split gives several arrays: take each part by slicing (x[:k], x[k:])",
    "array_split": "array_split gives several arrays: take each part by slicing",
    "unique": "unique has a data-dependent shape; gradc's shapes are fixed at compile time",
    "nonzero": "nonzero has a data-dependent shape: use where(cond, a, b)",
    "argwhere": "argwhere has a data-dependent shape: use where(cond, a, b)",
    "pinv": "pinv is not supported: for A of full column rank, pinv(A) @ b is solve(A.T @ A, A.T @ b)",
    "lstsq": "lstsq gives several arrays: for A of full column rank, its solution is solve(A.T @ A, A.T @ b)",
    "qr": "the QR decomposition is not supported",
    "lu": "the LU decomposition is not supported: solve(A, b), inv(A) and slogdet(A) factorize A themselves",
    "svd": "the SVD is not supported: the largest singular value is norm(A, 2), their sum norm(A, 'nuc')",
    "matrix_power": "matrix_power is not supported: write the product, A @ A @ A",
    "matrix_rank": "matrix_rank gives an integer, with no gradient",
    "cond": "cond is not supported: norm(A, 2) * norm(inv(A), 2) is the 2-norm condition number",
    "median": "median sorts, and sort has no gradient gradc can write as straight-line code",
    "percentile": "percentile sorts, and sort has no gradient gradc can write as straight-line code",
    "quantile": "quantile sorts, and sort has no gradient gradc can write as straight-line code",
    "average": "average is not supported: mean(x), or sum(w * x) / sum(w) with weights w",
    "cov": "cov is not supported: for observations in the rows of X, Xc = X - mean(X, axis=0); Xc.T @ Xc / (n - 1)",
    "diff": "diff is not supported: write it with slices, x[1:] - x[:-1]",
    "ptp": "ptp is not supported: np.max(x, axis) - np.min(x, axis)",
    "fmax": "fmax is not supported: maximum(a, b) (which keeps NaN where fmax drops it)",
    "fmin": "fmin is not supported: minimum(a, b) (which keeps NaN where fmin drops it)",
    "heaviside": "heaviside is not supported: where(x > 0, 1.0, 0.0) (its gradient is 0)",
    "deg2rad": "deg2rad is not supported: x * pi / 180",
    "rad2deg": "rad2deg is not supported: x * 180 / pi",
    "expm": "matrix functions (expm, logm, sqrtm) are not supported",
    "logm": "matrix functions (expm, logm, sqrtm) are not supported",
    "sqrtm": "matrix functions (expm, logm, sqrtm) are not supported",
    "empty": "empty gives uninitialised memory: use zeros(shape)",
    "empty_like": "empty_like gives uninitialised memory: use zeros_like(a)",
    "block": "block is not supported: join the blocks with hstack and vstack, as in vstack((hstack((A, B)), "
             "hstack((C, D))))",
    "dstack": "dstack is not supported: use stack((a, b), axis=2) for matrices, or concatenate(..., axis=2)",
    "tri": "tri is not supported: use tril(ones((n, m)), k)",
    "diagflat": "diagflat is not supported: use diag(v) of a vector (flatten a matrix first)",
}
_EIGEN = "eigendecompositions are not supported: the sum of the eigenvalues is trace(A), their product det(A)"
UNSUPPORTED_FUNCTIONS.update({name: _EIGEN for name in ("eig", "eigh", "eigvals", "eigvalsh")})
# NumPy functions giving a tuple, each part an op: slogdet(X)[1], slogdet(X).logabsdet, `s, logdet = slogdet(X)`.
PARTS = {"slogdet": (("sign", "slogdet_sign"), ("logabsdet", "logabsdet"))}
# How each keyword's constant is read, by the keyword's name: an op with a new keyword adds its row (a keyword
# not listed is read as a literal: a number, True/False, None, a string, or a tuple of them).
ATTRIBUTES = {"axis": "axis", "keepdims": "boolean", "ord": "order", "ddof": "integer", "approximate": "boolean",
              "alpha": "number", "negative_slope": "number",
              "shape": "shape", "N": "extent", "M": "extent", "n": "extent", "k": "integer",
              "offset": "integer", "fill_value": "fill_value",
              "axes": "axes", "axis1": "integer", "axis2": "integer", "source": "axes", "destination": "axes",
              "shift": "integers", "repeats": "count", "reps": "integers"}


def positional_options(op):
    """How many of the op's keywords the source may give by position: `op.positional`, or by default the
    first where the op takes an axis (NumPy's sum(x, 1), softmax(z, 0), norm(x, 2))."""
    if op.positional is not None:
        return op.positional
    return 1 if any(keyword == "axis" for keyword, _ in op.keywords) else 0
# Statements outside the language, with what to write instead; gradc compiles straight-line code only.
UNSUPPORTED = {
    "For": "for loops are not supported: gradc compiles straight-line code (use sum(...), @ or broadcasting)",
    "While": "while loops are not supported: gradc compiles straight-line code",
    "If": "if statements are not supported: gradc cannot branch on values (use maximum, minimum or relu)",
    "With": "with statements are not supported",
    "FunctionDef": "function definitions are not supported in a source: inline the helper, or compile a "
                   "file's function as file.py:name",
    "ClassDef": "class definitions are not supported",
    "Global": "global statements are not supported: pass the value as a parameter",
    "Nonlocal": "nonlocal statements are not supported: pass the value as a parameter",
    "Return": "return must be the last statement",
    "AugAssign": "AugAssign (x += ...) is not supported: write x = x + ...",
}
MAX_SOURCE = 2_000_000  # characters; larger sources are rejected before parsing


def parse(source, shapes=None):
    """Parse `source` into a Graph whose single output is the last statement's value.

    Args:
        source: one expression, or statements separated by newlines or `;`, all but the last `name = expr`
            (or `name: (d1, d2)` declaring an input's shape).
        shapes: input name -> tuple of dims (ints or names); undeclared inputs are scalars, and
            shapes of names the source does not use are ignored (one dict can serve several models).
    """
    _check_text(source)
    if len(source) > MAX_SOURCE:
        raise ParseError(f"source is too long ({len(source)} characters; the limit is {MAX_SOURCE})")
    return with_deep_stack(lambda: _Parser(source, shapes or {}).run())


def input_names(source):
    """The names an expression-language source reads as inputs, in order of first use, without building its
    graph (so without its shapes): what is neither assigned first, called, np/numpy, nor a constant.
    A source that does not parse gives the names found so far; `parse` reports its error."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assigned, found = set(), []
    for statement in tree.body:
        read = ast.walk(statement.value if isinstance(statement, (ast.Assign, ast.Expr)) else statement)
        for node in sorted((n for n in read if isinstance(n, ast.Name)), key=lambda n: (n.lineno, n.col_offset)):
            if (isinstance(node.ctx, ast.Load) and id(node) not in called and node.id not in assigned
                    and node.id not in NUMPY and node.id not in CONSTANTS and node.id not in found):
                found.append(node.id)
        if isinstance(statement, ast.Assign):
            assigned.update(t.id for t in statement.targets if isinstance(t, ast.Name))
    return found


def parse_function(source, shapes=None):
    """Parse the text of one `def` (decorators ignored): its parameters are the inputs, in order.

    The body is `name = expr` statements (a docstring is skipped) ending in `return expr`. Names that
    are neither parameters, locals nor constants are errors: a function's globals are not read. The
    graph's `source` becomes the equivalent expression-language text, for the module's docstring.
    """
    _check_text(source)
    return with_deep_stack(lambda: _Parser(source, shapes or {}).run(function=True))


def _check_text(source):
    """A string that a file could hold: no lone surrogate (which no encoding writes, nor stderr prints)."""
    if not isinstance(source, str):
        raise ParseError("source must be a string")
    try:
        source.encode("utf-8")
    except UnicodeEncodeError as error:
        line = source.count("\n", 0, error.start) + 1
        column = error.start - source.rfind("\n", 0, error.start)
        code = f"U+{ord(source[error.start]):04X}"
        raise ParseError(f"the source holds an unpaired surrogate character ({code}) at line {line}, column "
                         f"{column}: it is not text any file can hold") from None


_DEEP_STACK = threading.Lock()


def with_deep_stack(task):
    """Run `task` in a thread with a large stack, so deeply nested sources parse or fail cleanly."""
    result = {}

    def run():
        with _DEEP_STACK:  # the limit is the process's: parses in other threads must not restore it mid-parse
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(100_000)
            try:
                result["value"] = task()
            except BaseException as error:  # re-raised in the caller's thread
                result["error"] = error
            finally:
                sys.setrecursionlimit(limit)

    previous = threading.stack_size(1 << 30)
    try:
        thread = threading.Thread(target=run, name="gradc-parse")
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join()
    error = result.get("error")
    if isinstance(error, (RecursionError, MemoryError)):
        raise ParseError("the source is nested too deeply to compile") from None
    if error is not None:
        raise error
    return result["value"]


def near_typo(name, known):
    """The known name `name` most likely mistypes, or None: one a single edit away (two for names of six or
    more letters), so `sigmod` -> sigmoid and `exq` -> exp, while `einsum` is no typo of `sum`."""
    allowed = 1 if len(name) < 6 else 2
    distances = {candidate: edits(name, candidate) for candidate in known
                 if abs(len(candidate) - len(name)) <= allowed}
    close = sorted((d, candidate) for candidate, d in distances.items() if d <= allowed)
    return close[0][1] if close else None


def edits(a, b):
    """The optimal-string-alignment distance: insertions, deletions, substitutions and swaps of neighbours."""
    previous, current = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        before, previous, current = previous, current, [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
    return current[-1]


class _Parser(Gathers):
    def __init__(self, source, shapes):
        self.source = source
        self.lines = source.splitlines() or [""]
        self.shapes = shape_rules.declared(shapes)
        self.graph = Graph(source, consing=False)
        self.locals = {}
        self.closed = False  # True in a function: every input is a parameter

    def run(self, function=False):
        try:
            tree = ast.parse(self.source, mode="exec")
        except SyntaxError as error:
            column = (error.offset or 1) - 1
            raise ParseError(f"invalid syntax: {error.msg}", self.source, error.lineno or 1, column) from None
        if function:
            return self.function(tree)
        statements = tree.body
        if not statements:
            raise ParseError("the source is empty: write an expression such as (x + y) * z")
        *body, last = statements
        for statement in body:
            self.statement(statement)
        if not isinstance(last, ast.Expr):
            raise self.error(last, "the last statement must be an expression: its value is the output")
        output = self.expr(last.value)
        self.graph.outputs = [output]
        self.check_sizes()
        return self.graph

    def check_sizes(self):
        """Every dimension the source uses as a size (`/n`, zeros((n, 3))) is one an input's shape gives: the
        module reads its sizes from its arrays, so a dimension of an unused input's declaration has none."""
        bound = {name for node in self.graph.inputs.values() for d in self.graph.shape(node)
                 for name in dimensions.names(d)}
        for node in self.graph.order():
            data = self.graph[node]
            for d in self.graph.shape(node) + tuple(dict(data["attrs"]).get("dims", ())):
                for name in dimensions.names(d):
                    if name not in bound:
                        holder = next((k for k, dims in self.shapes.items() if name in dims), "an input")
                        span = data["span"] or Span("", 1, 0)
                        raise UnknownNameError(f"the size {name} is read from the shape of {holder}, which the source "
                                         f"does not use: use {holder}, or write the size as a number",
                                         self.source, span.line, span.column)

    def function(self, tree):
        """`def f(x, W): ...; return expr`: the parameters become the inputs before the body is read."""
        node = tree.body[0] if len(tree.body) == 1 else None
        if not isinstance(node, ast.FunctionDef):
            raise ParseError("expected the source of one function defined with def")
        args = node.args
        if args.vararg or args.kwarg:
            raise self.error(args.vararg or args.kwarg, "*args and **kwargs are not supported: name each input")
        defaults = args.defaults + [d for d in args.kw_defaults if d is not None]
        if defaults:
            raise self.error(defaults[0], "default values are not supported: make it an input, or write the "
                                          "constant in the body")
        for arg in args.posonlyargs + args.args + args.kwonlyargs:  # annotations are not read
            target = ast.copy_location(ast.Name(id=arg.arg), arg)
            self.check_name(target, binding=True)
            self.input(arg.arg, self.span(arg))
        self.closed = True
        body = node.body
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]  # the docstring
        if not body:
            raise self.error(node, f"{node.name} has no body to compile: end it with `return expr`")
        *body, last = body
        for statement in body:
            self.statement(statement)
        if not isinstance(last, ast.Return) or last.value is None:
            raise self.error(last, f"{node.name} must end with `return expr`: its value is the output")
        self.graph.outputs = [self.expr(last.value)]
        text = [ast.unparse(statement) for statement in body] + [ast.unparse(last.value)]
        self.graph.source = "; ".join(text)
        return self.graph

    # statements
    def statement(self, node):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Tuple):
            self.unpack(node.targets[0], node.value)
        elif isinstance(node, ast.Assign):
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                raise self.error(node, "only assignments to a single name are supported (name = expr)")
            target = node.targets[0]
            self.check_name(target, binding=True)
            value = self.expr(node.value)
            if self.graph[value]["name"] is None and self.graph[value]["op"] != "input":
                self.graph[value]["name"] = target.id
            self.locals[target.id] = value
        elif isinstance(node, ast.AnnAssign) and node.value is None and isinstance(node.target, ast.Name):
            self.declare(node.target, node.annotation)
        elif isinstance(node, ast.Expr):
            raise self.error(node, "only the last statement may be a bare expression; name it with `name = ...`")
        else:
            kind = type(node).__name__
            raise self.error(node, UNSUPPORTED.get(kind, f"{kind} statements are not supported"))

    def unpack(self, target, value):
        """`s, logdet = slogdet(X)`: each name bound to its part of a tuple-valued function."""
        function = self.parts_of(value)
        if function is None or len(target.elts) != len(PARTS[function]) \
                or not all(isinstance(t, ast.Name) for t in target.elts):
            raise self.error(target, "only assignments to a single name are supported (name = expr), and "
                                     "`s, logdet = slogdet(X)`")
        for k, name in enumerate(target.elts):
            self.check_name(name, binding=True)
            part = self.part(value, function, k)
            if self.graph[part]["name"] is None:
                self.graph[part]["name"] = name.id
            self.locals[name.id] = part

    def parts_of(self, node):
        """The name of the tuple-valued function (PARTS) that `node` calls, or None."""
        if not isinstance(node, ast.Call) or self.is_method(node.func):
            return None
        name = self.function_name(node.func)
        return name if name in PARTS and name not in self.locals else None

    def part(self, call, function, k):
        """Part `k` of `function(...)`'s tuple, as its op applied to the call's arguments."""
        op = PARTS[function][k][1]
        return self.bind(call, function, REGISTRY[op], list(call.args), call.keywords)

    def declare(self, target, annotation):
        """`X: (n, d)` declares the shape of input X; `labels: int[n]` an integer input's (gradc.Int)."""
        self.check_name(target, binding=True)
        integer = isinstance(annotation, ast.Subscript) and isinstance(annotation.value, ast.Name) \
            and annotation.value.id == "int"
        if integer:
            annotation = annotation.slice
        items = annotation.elts if isinstance(annotation, ast.Tuple) else [annotation]
        dims = []
        for item in items:
            if isinstance(item, ast.Name):
                dims.append(item.id)
            elif isinstance(item, ast.Constant) and type(item.value) is int:
                dims.append(item.value)
            else:
                raise self.error(item, "a dimension is an int or a name, as in X: (n, 3) or labels: int[n]")
        if self.closed:
            raise self.error(target, "in a function, declare shapes with shapes= or example=")
        if target.id in self.graph.inputs:
            raise self.error(target, f"declare {target.id}'s shape before it is used")
        self.shapes[target.id] = shape_rules.Int(*dims) if integer else tuple(dims)

    # expressions
    def expr(self, node):
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            raise self.error(node, self.describe(node) + " is not supported in gradc's language")
        return method(node)

    def expr_BinOp(self, node):
        # A long left-leaning chain (a sum of 20,000 terms) is walked with a loop, not by recursion.
        if type(node.op) not in BINARY:
            raise self.error(node, f"the operator in '{self.segment(node)}' is not supported")
        chain = []
        while isinstance(node, ast.BinOp) and type(node.op) in BINARY:
            chain.append(node)
            node = node.left
        result = self.expr(node)
        for binop in reversed(chain):
            op = BINARY[type(binop.op)]
            if op in LOGICAL:
                self.check_mask(binop.left, result, LOGICAL[op])
                result = self.add(binop, op, [result, self.mask_operand(binop.right, LOGICAL[op])])
            else:
                result = self.add(binop, op, [result, self.expr(binop.right)])
        return result

    def expr_Compare(self, node):
        """`a < b`, and a chain `a < b <= c` as Python means it: (a < b) & (b <= c), b read once."""
        operands = [self.expr(node.left)]
        masks = []
        for op, right in zip(node.ops, node.comparators):
            if type(op) not in COMPARE:
                raise self.error(node, f"the comparison '{self.segment(node)}' is not supported: gradc compares "
                                       "numbers with < <= > >= == != (is and in have no meaning on arrays)")
            operands.append(self.expr(right))
            masks.append(self.add(node, COMPARE[type(op)], operands[-2:]))
        result = masks[0]
        for mask in masks[1:]:
            result = self.add(node, "logical_and", [result, mask])
        return result

    def mask_operand(self, node, operator):
        """The operand of & | ~, which must be a mask: NumPy's bitwise operators on floats are errors."""
        value = self.expr(node)
        self.check_mask(node, value, operator)
        return value

    def check_mask(self, node, value, operator):
        if self.graph[value]["op"] not in MASKS:
            raise self.error(node, f"'{self.segment(node)}' is not a mask: {operator} combines comparisons, as in "
                                   f"(x > 0) {'&' if operator == '~' else operator} (x < 1); for numbers write "
                                   "logical_and/logical_or/logical_not, or * and 1 - m on 0/1 values")

    def expr_UnaryOp(self, node):
        if isinstance(node.op, ast.UAdd):
            return self.expr(node.operand)
        if isinstance(node.op, ast.USub):
            if isinstance(node.operand, ast.Constant) and self.is_number(node.operand.value):
                return self.graph.add("const", span=self.span(node), value=-float(node.operand.value))
            return self.add(node, UNARY["-"], [self.expr(node.operand)])
        if isinstance(node.op, ast.Invert):
            return self.add(node, UNARY["~"], [self.mask_operand(node.operand, "~")])
        raise self.error(node, f"the operator {self.segment(node)[:3]!r} is not supported")

    def expr_Constant(self, node):
        if isinstance(node.value, complex):
            raise self.error(node, "complex numbers are not supported: gradients here are of real functions; "
                                   "write the real and imaginary parts as two real inputs")
        if not self.is_number(node.value):
            raise self.error(node, f"{type(node.value).__name__} constants are not supported; only numbers")
        return self.graph.add("const", span=self.span(node), value=float(node.value))

    def expr_Name(self, node):
        name = node.id
        self.check_name(node)
        if name in self.locals:
            return self.locals[name]
        if name in CONSTANTS:
            return self.graph.add("const", span=self.span(node), value=CONSTANTS[name])
        if name in self.dimensions():
            if name in self.shapes or name in self.graph.inputs:
                raise self.error(node, f"'{name}' names both an input and a dimension of another input's "
                                       "shape: rename one of them")
            return self.size(node, (name,))
        if name in FUNCTIONS:
            raise self.error(node, f"{name} is a function: call it, as in {name}(x)")
        if name in RESERVED:
            raise self.error(node, f"'{name}' is reserved and cannot name an input")
        if self.closed and name not in self.graph.inputs:
            raise self.error(node, f"'{name}' is neither a parameter nor assigned before this line: gradc does "
                                   "not read globals; pass it as a parameter", UnknownNameError)
        return self.input(name, self.span(node))

    def input(self, name, span):
        shape = self.shapes.get(name, ())
        return self.graph.input(name, shape, span=span, integer=isinstance(shape, shape_rules.Int))

    def expr_Attribute(self, node):
        function = self.parts_of(node.value)
        if function is not None:  # slogdet(X).logabsdet: NumPy's named tuple
            fields = [field for field, _ in PARTS[function]]
            if node.attr not in fields:
                raise self.error(node, f"{function}() gives the fields {', '.join(fields)}, not '{node.attr}'")
            return self.part(node.value, function, fields.index(node.attr))
        if node.attr == "T":
            return self.add(node, UNARY[".T"], [self.expr(node.value)], axes=None)  # as transpose(x) reads
        if isinstance(node.value, ast.Name) and node.value.id in NUMPY and node.attr in NUMPY_CONSTANTS:
            return self.graph.add("const", span=self.span(node), value=NUMPY_CONSTANTS[node.attr])
        if node.attr == "size":
            return self.size(node, self.graph.shape(self.expr(node.value)))
        if node.attr == "ndim":
            return self.graph.add("const", span=self.span(node), value=len(self.graph.shape(self.expr(node.value))))
        if node.attr == "shape":
            raise self.error(node, "'.shape' is a tuple: take one size, as in x.shape[0]")
        raise self.error(node, f"attribute access '.{node.attr}' is not supported (.T, .shape[i], .size and "
                               ".ndim are)")

    def expr_Subscript(self, node):
        """Constant basic indexing: ints, slices, None / np.newaxis and one `...` (expanded into full slices
        here, where the operand's rank is known)."""
        if isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
            return self.dimension(node)
        function = self.parts_of(node.value)
        if function is not None:
            count = len(PARTS[function])
            k = self.integer(node.slice, f"the index of one of {function}()'s values") \
                if self.is_integer(node.slice) else None
            if k is None or not -count <= k < count:
                raise self.error(node.slice, f"{function}() gives {count} values: take one by a constant index "
                                             f"0 to {count - 1}")
            return self.part(node.value, function, k % count)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        operand = self.expr(node.value)
        if any(isinstance(item, ast.List) for item in items):
            return self.constant_gather(node, operand, items)
        if any(self.is_array_item(item) for item in items):
            return self.gather(node, operand, items)
        return self.basic_index(node, operand, [self.index_item(item) for item in items])

    def basic_index(self, node, operand, index):
        """`operand[index]` of index items (see `index_item`), its `...` expanded to the slices it stands for."""
        ellipses = [i for i, item in enumerate(index) if item is Ellipsis]
        if len(ellipses) > 1:
            raise self.error(node, f"'{self.segment(node)}': an index can have only one '...'", ShapeError)
        if ellipses:
            rest = len(self.graph.shape(operand)) - sum(1 for item in index if item not in (None, Ellipsis))
            index[ellipses[0]:ellipses[0] + 1] = [Slice()] * max(rest, 0)
        return self.add(node, UNARY["[]"], [operand], index=tuple(index))

    def dimension(self, node):
        """`X.shape[i]`: the size of one of X's dimensions."""
        shape = self.graph.shape(self.expr(node.value.value))
        i = self.integer(node.slice, "x.shape[i]")
        if not -len(shape) <= i < len(shape):
            raise self.error(node, f"'{self.segment(node)}': index {i} is out of range for shape "
                                   f"{shape_rules.show(shape)}", ShapeError)
        return self.size(node, (shape[i],))

    def length(self, node):
        """`len(X)`: the size of X's first dimension, as in NumPy."""
        if len(node.args) != 1 or node.keywords:
            raise self.error(node, "len() takes one argument")
        shape = self.graph.shape(self.expr(node.args[0]))
        if not shape:
            raise self.error(node, f"len() of '{self.segment(node.args[0])}', a scalar: it has no length",
                             ShapeError)
        return self.size(node, shape[:1])

    def size(self, node, dims):
        """The number of elements of `dims`: a constant where they are ints, else the module reads the sizes."""
        if all(isinstance(d, int) for d in dims):
            return self.graph.add("const", span=self.span(node), value=math.prod(dims))
        return self.graph.add("size", span=self.span(node), dims=tuple(dims))

    def dimensions(self):
        """The dimension names of the declared shapes."""
        return {d for shape in self.shapes.values() for d in shape if isinstance(d, str)}

    def index_item(self, node):
        """One item of a constant index: an int, a Slice, None (np.newaxis) or Ellipsis (...)."""
        if isinstance(node, ast.Slice):
            bounds = (node.lower, node.upper, node.step)
            item = Slice(*(None if b is None else self.integer(b, "slice bounds") for b in bounds))
            if item.step == 0:
                raise self.error(node, f"'{self.segment(node)}': slice step cannot be zero", ShapeError)
            return item
        if isinstance(node, ast.Constant) and (node.value is None or node.value is Ellipsis):
            return node.value
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in NUMPY \
                and node.attr == "newaxis":
            return None
        if isinstance(node, ast.Compare):
            raise self.error(node, f"boolean mask indexing '{self.segment(node)}' is not supported: its length "
                                   "depends on the data; use where(mask, x, 0) and reduce over all elements")
        return self.integer(node, "an index")

    def expr_Call(self, node):
        func = node.func
        if self.is_method(func):
            return self.method_call(node)
        name = self.function_name(func)
        if isinstance(func, ast.Name) and name == "len" and name not in self.locals:
            return self.length(node)
        if isinstance(func, ast.Name) and name in BUILTINS and len(node.args) == 2 and not node.keywords:
            return self.builtin_pair(node, name)
        if name not in FUNCTIONS:
            raise self.unknown_function(func, name)
        if name in PARTS:
            fields = [field for field, _ in PARTS[name]]
            raise self.error(node, f"{name}() gives the pair ({', '.join(fields)}): take one, as in {name}(X)[1] "
                                   f"or {name}(X).{fields[-1]}, or write s, {fields[-1]} = {name}(X)")
        if FUNCTIONS[name].name == "einsum":
            return self.einsum(node, name)
        if FUNCTIONS[name] is LITERAL:
            return self.array(node, name)
        return self.bind(node, name, FUNCTIONS[name], list(node.args), node.keywords)

    def array(self, node, name):
        """np.array([...]) with NumPy's meaning: numbers alone are one literal; a list holding values stacks its
        items (which must have one shape); np.array(x) of a value is x."""
        if len(node.args) != 1 or node.keywords:
            raise self.error(node, f"np.{name}() takes one list of numbers and values, as in np.{name}([a, b]) "
                                   "(gradc's arrays are float64: no dtype)")
        return self.array_item(node.args[0], name)

    def array_item(self, node, name):
        if not isinstance(node, (ast.List, ast.Tuple)):
            return self.expr(node)
        if not node.elts:
            raise self.error(node, f"np.{name}([]): an empty array has nothing to differentiate; use zeros((0,))",
                             ShapeError)
        values = self.numbers(node)
        if values is not None:
            return self.graph.add("literal", span=self.span(node), values=values)
        items = [self.array_item(item, name) for item in node.elts]
        found = list(dict.fromkeys(self.graph.shape(item) for item in items))
        if len(found) > 1:
            raise self.error(node, f"np.{name}: the items of '{self.segment(node)}' have shapes "
                                   f"{' and '.join(map(shape_rules.show, found))}; a nested list needs items of "
                                   "one shape (NumPy refuses a ragged list)", ShapeError)
        return self.add(node, "stack", items, axis=0)

    def numbers(self, node):
        """A (nested) list of number constants as nested tuples of floats, or None if it holds anything else
        (or is ragged)."""
        if isinstance(node, (ast.List, ast.Tuple)):
            rows = [self.numbers(item) for item in node.elts]
            if not rows or any(row is None for row in rows) or len({np.shape(row) for row in rows}) > 1:
                return None
            return tuple(rows)
        negated = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
        inner = node.operand if negated else node
        if isinstance(inner, ast.Constant) and self.is_number(inner.value):
            return -float(inner.value) if negated else float(inner.value)
        return None

    @staticmethod
    def is_method(func):
        """`x.sum()`, `(X @ w).dot(v)`: an attribute call on a value, not on a name in numpy (np.f, np.linalg.f)."""
        if not isinstance(func, ast.Attribute):
            return False
        root = func.value
        while isinstance(root, ast.Attribute):
            root = root.value
        return not (isinstance(root, ast.Name) and root.id in NUMPY)

    def method_call(self, node):
        """`x.name(args)` as `name(x, args)`, for NumPy's array methods that are gradc functions."""
        func = node.func
        name = func.attr
        if name not in METHODS:
            # math.exp(x), linalg.norm(x), jnp.tanh(x), x.norm(): a gradc function reached by another name
            spelled = f"np.linalg.{name}" if hasattr(np.linalg, name) and not hasattr(np, name) else f"np.{name}"
            hint = f": write {name}(...) or {spelled}(...)" if name in FUNCTIONS else ""
            raise self.error(func, f"arrays have no method '{name}'{hint}", UnknownNameError)
        if name not in FUNCTIONS:
            hint = UNSUPPORTED_FUNCTIONS.get(name, "`gradc ops` lists the supported operations")
            raise self.error(func, f"the method .{name}() is not supported: {hint}")
        args = list(node.args)
        if name in VARARGS and len(args) > 1:  # x.reshape(n, d) is x.reshape((n, d))
            args = [ast.copy_location(ast.Tuple(elts=args, ctx=ast.Load()), args[0])]
        return self.bind(node, name, FUNCTIONS[name], [func.value] + args, node.keywords)

    def bind(self, node, name, entry, args, keywords):
        """The op `entry` applied to source arguments: its operands, then its keywords (the first
        `entry.positional` of them also by position, as NumPy takes sum(x, 1)), each read by ATTRIBUTES."""
        op, arity, defaults = entry.name, entry.arity, dict(entry.keywords)
        starred = next((a for a in args if isinstance(a, ast.Starred)), None)
        if starred is not None:
            raise self.error(starred, f"{name}(): starred arguments (*x) are not supported")
        if entry.sequence:
            if not args or not isinstance(args[0], (ast.Tuple, ast.List)) or not args[0].elts:
                raise self.error(node, f"{name}() takes a sequence of arrays first, as in {name}((a, b))")
            operands, options, arity = list(args[0].elts), args[1:], 1
        else:
            operands, options = args[:arity], args[arity:]
        positional = list(defaults)[:positional_options(entry)]
        if len(operands) < arity or len(options) > len(positional):
            more = {0: "", 1: f" or {arity + 1}"}.get(len(positional), f" to {arity + len(positional)}")
            expected = f"{arity}{more}"
            plural = "argument" if expected == "1" else "arguments"
            raise self.error(node, f"{name}() takes {expected} {plural}, got {len(args)}")
        attrs = dict(defaults)
        given = dict(zip(positional, options))
        for keyword in keywords:
            if keyword.arg not in defaults:
                allowed = "no keyword arguments" if not defaults else "the keyword arguments " + ", ".join(defaults)
                raise self.error(keyword.value if keyword.arg is None else keyword,
                                 f"{name}() takes {allowed}, got {keyword.arg or '**'}")
            if keyword.arg in given:
                raise self.error(keyword, f"{name}() got {keyword.arg} twice")
            given[keyword.arg] = keyword.value
        for option, value in given.items():
            attrs[option] = self.attribute(option, value, name, op)
        if entry.attributes is not None:  # eye(N, M, k) -> shape=(N, M), k
            attrs = self.adapted(node, entry, attrs)
        values = [self.operand(arg, op, i) for i, arg in enumerate(operands)]
        if op == "outer":
            return self.outer(node, *values)
        if op == "repeat" and isinstance(attrs["repeats"], tuple):
            return self.repeat_each(node, values[0], self.segment(operands[0]), **attrs)
        return self.add(node, op, values, **attrs)

    def outer(self, node, a, b):
        """np.outer's meaning: its operands flattened (outer(A, B) is outer(ravel(A), ravel(B)), a scalar a
        vector of one), so the graph's outer is of vectors only."""
        flat = [x if len(self.graph.shape(x)) == 1 else self.add(node, "ravel", [x]) for x in (a, b)]
        return self.add(node, "outer", flat)

    def einsum(self, node, name):
        """`einsum('ij,jk->ik', A, B)`: the spec (a string constant) first, then any number of operands; the
        graph holds the spec written out (implicit output and '...' made explicit, gradc/ops/contractions.py)."""
        if node.keywords:
            raise self.error(node.keywords[0], f"{name}() takes no keyword arguments here (gradc picks the order "
                                               "of the products itself)")
        spec = node.args[0] if node.args else node
        if not (isinstance(spec, ast.Constant) and isinstance(spec.value, str)) or len(node.args) < 2:
            raise self.error(spec, f"{name}() takes a spec string and its operands: einsum('ij,jk->ik', A, B)")
        operands = [self.expr(arg) for arg in node.args[1:]]
        try:
            text = explicit(spec.value, [self.graph.shape(o) for o in operands])
        except ShapeError as error:
            raise self.error(spec, str(error), ShapeError) from None
        return self.add(node, "einsum", operands, spec=text)

    def operand(self, node, op, i):
        """Operand `i` of a call to `op`; None where the op reads it as an open bound (clip)."""
        if isinstance(node, ast.Constant) and node.value is None and op in OPEN_BOUNDS \
                and OPEN_BOUNDS[op][i] is not None:
            return self.graph.add("const", span=self.span(node), value=OPEN_BOUNDS[op][i])
        if op in INDEXED and i == 1:
            return self.indices(node, node)
        return self.expr(node)

    def adapted(self, node, entry, keywords):
        """The op's attributes made from the source's keywords, its errors placed at the call."""
        try:
            return entry.attributes(**keywords)
        except ShapeError as error:
            raise self.error(node, error.message, ShapeError) from None

    def attribute(self, option, node, function, op):
        """The constant value of keyword `option`, read by its reader in ATTRIBUTES."""
        reader = ATTRIBUTES.get(option, "literal")
        if reader == "axis":
            return self.axis(node, function, op)
        if reader == "shape":
            return self.shape(node, inferred=op == "reshape")
        return getattr(self, reader)(node)

    def builtin_pair(self, node, name):
        """Python's max(a, b): elementwise, except that max(X, 1) of an array could be NumPy's reduction too."""
        first, second = (self.expr(arg) for arg in node.args)
        if self.is_integer(node.args[1]) and self.graph.shape(first) != ():
            raise self.error(node, f"{self.segment(node)} is ambiguous for an array: write np.{name}(a, axis=k) "
                                   f"for NumPy's reduction, or {BUILTINS[name]}(a, k) for the elementwise one")
        return self.add(node, BUILTINS[name], [first, second])

    # helpers
    def add(self, node, op, args, **attrs):
        return self.graph.add(op, args, span=self.span(node), **attrs)

    def function_name(self, func):
        """The called name: `f`, `np.f`, or `np.linalg.f` for a function NumPy keeps in np.linalg."""
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in NUMPY:
            return func.attr
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute)
                and func.value.attr == "linalg" and isinstance(func.value.value, ast.Name)
                and func.value.value.id in NUMPY):
            if not hasattr(np.linalg, func.attr):
                raise self.error(func, f"np.linalg has no function '{func.attr}'", UnknownNameError)
            return func.attr
        raise self.error(func, "only gradc's functions can be called, by name, as np.<name> or as a method "
                               "(x.sum())")

    def unknown_function(self, func, name):
        if name in UNSUPPORTED_FUNCTIONS:
            return self.error(func, UNSUPPORTED_FUNCTIONS[name])
        if hasattr(np, name) or hasattr(np.linalg, name):  # NumPy's own name is no typo of a similar one
            return self.error(func, f"np.{name} is not supported (`gradc ops` lists the supported operations)",
                              UnknownNameError)
        message = f"unknown function '{name}'"
        close = near_typo(name, FUNCTIONS)
        if close:
            message += f": did you mean '{close}'?"
        else:
            message += " (`gradc ops` lists the supported operations)"
        return self.error(func, message, UnknownNameError)

    def axis(self, node, function="sum", op="sum"):
        if isinstance(node, ast.Constant) and node.value is None:
            return None
        if isinstance(node, ast.Tuple):
            return tuple(self.integer(item) for item in node.elts)
        if op in TWINS and not self.is_integer(node):
            raise self.error(node, f"{function}(a, axis) reduces a along an axis, an integer constant; for the "
                                   f"elementwise {TWINS[op]} of two arrays write {TWINS[op]}(a, b)")
        return self.integer(node)

    def order(self, node):
        """norm's ord: None, a number, np.inf or -np.inf, or a string ('fro', 'nuc')."""
        negated = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
        sign, inner = (-1, node.operand) if negated else (1, node)
        if isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) and inner.value.id in NUMPY \
                and inner.attr == "inf":
            return sign * math.inf
        if isinstance(inner, ast.Constant) and (inner.value is None or isinstance(inner.value, str)) and sign == 1:
            return inner.value
        if isinstance(inner, ast.Constant) and self.is_number(inner.value):
            return sign * inner.value
        raise self.error(node, "ord is None, a number, np.inf, -np.inf, 'fro' or 'nuc'")

    def number(self, node):
        """A number constant, negative or not, or np.inf."""
        negated = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
        sign, inner = (-1, node.operand) if negated else (1, node)
        if self.is_numpy(inner, "inf"):
            return sign * math.inf
        if isinstance(inner, ast.Constant) and self.is_number(inner.value):
            return sign * float(inner.value)
        raise self.error(node, "expected a number, as in 0.1")

    def literal(self, node):
        """A constant: a number, True/False, None, a string, or a tuple or list of them."""
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.literal(item) for item in node.elts)
        if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (bool, str))):
            return node.value
        return self.number(node)

    def axes(self, node):
        """None, an int, or a (nested) tuple of ints (transpose's axes, tensordot's); another constant is
        left for the op's shape rule to refuse, naming the op."""
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.axes(item) for item in node.elts)
        return self.integer(node) if self.is_integer(node) else self.literal(node)

    def shape(self, node, inferred=False):
        """A shape: a length or a tuple or list of them (see `shape_length`), or X.shape."""
        if isinstance(node, ast.Attribute) and node.attr == "shape":
            return self.graph.shape(self.expr(node.value))
        items = node.elts if isinstance(node, (ast.Tuple, ast.List)) else [node]
        return tuple(self.shape_length(item, inferred) for item in items)

    def shape_length(self, node, inferred=False):
        """One length of a shape: a size (see `extent`) or a sum, difference or product of sizes (n*d, n + m, n - 1),
        all fixed when the module is compiled; with `inferred` (reshape's shape) also -1, the length NumPy infers."""
        combine = {ast.Mult: dimensions.multiply, ast.Add: dimensions.add, ast.Sub: dimensions.subtract}
        if isinstance(node, ast.BinOp) and type(node.op) in combine:
            return combine[type(node.op)](self.shape_length(node.left), self.shape_length(node.right))
        if inferred and self.is_integer(node) and self.integer(node) == -1:
            return -1
        if inferred and not (isinstance(node, (ast.Name, ast.Subscript, ast.Call)) or self.is_integer(node)):
            raise self.error(node, f"'{self.segment(node)}' is not a constant length: a shape is made of ints, "
                                   "dimension names, their sums and products (x.reshape(n, d), reshape(x, (n*d,)), -1, "
                                   "X.shape), fixed when the module is compiled")
        return self.extent(node, "a shape")

    def extent(self, node, what="a size"):
        """A size, as NumPy's constructors take one: an integer constant, a dimension name of the declared shapes,
        X.shape[i] or len(X); None where the op has a default (eye's M)."""
        if isinstance(node, ast.Constant) and node.value is None and what == "a size":
            return None
        if isinstance(node, ast.Name) and node.id in self.dimensions() and node.id not in self.locals:
            return node.id
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "shape" \
                or isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
            size = self.expr(node)  # the size as a value: read back the dimension it counts
            dims = self.graph.attrs(size).get("dims") or (int(self.graph.attrs(size)["value"]),)
            return dims[0]
        if self.is_integer(node) and self.integer(node) >= 0:
            return self.integer(node)
        combined = ", their sums and products" if what == "a shape" else ""
        raise self.error(node, f"{what} is made of non-negative integer constants and dimension names, X.shape[i] "
                               f"or len(X){combined} (as in zeros((n, 3)) with an input X: (n, 3)); got "
                               f"'{self.segment(node)}': computed sizes are not supported")

    def fill_value(self, node):
        """full's fill value: a number constant (a value the source computes: value * ones(shape))."""
        try:
            return self.number(node)
        except ParseError:
            raise self.error(node, f"fill_value must be a number constant, got '{self.segment(node)}': for a value "
                                   "the source computes write value * ones(shape)") from None

    def count(self, node):
        """repeat's repeats: a non-negative integer constant, or a list (tuple) of them, one per element."""
        if isinstance(node, (ast.List, ast.Tuple)):
            counts = tuple(self.integer(item, "repeats") for item in node.elts)
        else:
            counts = self.integer(node, "repeats")
        if min(counts if isinstance(counts, tuple) else (counts,), default=0) < 0:
            raise self.error(node, f"repeats must not be negative, got {self.segment(node)}", ShapeError)
        return counts

    def integers(self, node):
        """An int or a tuple of ints, negative or not (roll's shift, tile's reps)."""
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.integer(item) for item in node.elts)
        return self.integer(node)

    def boolean(self, node):
        if isinstance(node, ast.Constant) and type(node.value) is bool:
            return node.value
        raise self.error(node, "expected True or False")

    def is_integer(self, node):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            node = node.operand
        return isinstance(node, ast.Constant) and type(node.value) is int

    def integer(self, node, what=""):
        sign = 1
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            sign, node = -1, node.operand
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return sign * node.value
        raise self.error(node, f"expected an integer constant{' in ' + what if what else ''}, got "
                               f"'{self.segment(node)}' (gradc indexes only by constants)")

    def check_name(self, node, binding=False):
        name = node.id
        if name.startswith("__") or name.startswith("_"):
            raise self.error(node, f"names starting with an underscore are not allowed: '{name}'")
        if binding and (name in FUNCTIONS or name in CONSTANTS or name in RESERVED or name in NUMPY):
            raise self.error(node, f"cannot assign to '{name}': it names a function or constant")
        if binding and name in self.graph.inputs:
            raise self.error(node, f"cannot assign to '{name}': it is already used as an input")

    @staticmethod
    def is_numpy(node, attr):
        """`np.<attr>` (or numpy.<attr>)."""
        return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in NUMPY \
            and node.attr == attr

    @staticmethod
    def is_number(value):
        return type(value) in (int, float)

    @staticmethod
    def describe(node):
        names = {"Lambda": "a lambda", "ListComp": "a list comprehension", "GeneratorExp": "a generator",
                 "Compare": "a comparison", "IfExp": "a conditional expression", "BoolOp": "and/or",
                 "List": "a list", "Tuple": "a tuple", "Dict": "a dict", "JoinedStr": "an f-string"}
        return names.get(type(node).__name__, type(node).__name__)

    def column(self, node):
        """The character column of `node` (ast gives UTF-8 byte offsets)."""
        line = self.lines[node.lineno - 1] if node.lineno <= len(self.lines) else ""
        return len(line.encode()[:node.col_offset].decode(errors="ignore"))

    def segment(self, node):
        if node.lineno != node.end_lineno:
            first = self.lines[node.lineno - 1].encode()[node.col_offset:].decode(errors="ignore")
            return first + " ..."
        line = self.lines[node.lineno - 1].encode()
        return line[node.col_offset:node.end_col_offset].decode(errors="ignore")

    def span(self, node):
        text = self.segment(node)
        if len(text) > 60:
            text = text[:57] + "..."
        return Span(text, node.lineno, self.column(node))

    def error(self, node, message, kind=ParseError):
        return kind(message, self.source, node.lineno, self.column(node))

