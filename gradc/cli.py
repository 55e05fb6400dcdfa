"""The command line: gradc compile | check | render | fit | ops; errors are one line and exit status 2."""
import argparse
import os
import sys

import numpy as np

from gradc import __version__
from gradc.errors import GradcError

EXAMPLES = """examples:
  gradc compile '(x + y) * z'
  gradc compile model.py:loss --wrt w --shape X=n,d --shape w=d --shape y=n
  gradc compile '0.5*sum((X@w - y)**2)' --wrt w --shape X=n,d --shape y=n --shape w=d -o least_squares.py
  gradc check 'x / (x + y)' --at x=-1 --at y=2
  gradc check 'sum(softmax(z) * t)' --shape z=k --shape t=k
  gradc render '(x + y) * z' --at x=-2 --at y=5 --at z=-4 -o circuit.svg
  gradc compile 'sum(tanh(W @ x))' --shape W=m,n --shape x=n --emit jvp,vjp,hvp,hessian
  gradc explain '0.5*sum((X@w - y)**2)' --wrt w --shape X=n,d --shape y=n --shape w=d --latex
  gradc ops
"""


class UsageError(GradcError):
    """The command line itself is malformed."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser():
    parser = _Parser(prog="gradc", description="Turn math expressions into standalone NumPy gradient code.",
                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"gradc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    compile_ = commands.add_parser("compile", help="write the module computing the value and gradient",
                                   epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_arguments(compile_)
    compile_.add_argument("-o", "--output", help="write the module here instead of stdout")
    compile_.add_argument("--emit", action="append", default=[], metavar="NAMES",
                          help="also write these functions, comma-separated: jvp, vjp, hvp, hessian "
                               "(value_and_grad is there for a scalar output)")
    compile_.set_defaults(run=run_compile)

    check = commands.add_parser("check", help="compare the gradient with central finite differences",
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_arguments(check)
    add_point_arguments(check)
    check.add_argument("--eps", type=float, default=1e-6, help="finite-difference step (default 1e-6)")
    check.add_argument("--rtol", type=float, default=1e-5, help="largest relative error accepted")
    check.add_argument("--seed", type=int, default=0, help="seed of the random point")
    check.set_defaults(run=run_check)

    ops = commands.add_parser("ops", help="list the supported operations")
    ops.set_defaults(run=run_ops)

    for module, adder in (("gradc.render", "add_render_parser"), ("gradc.fit", "add_fit_parser"),
                          ("gradc.explain", "add_explain_parser")):
        _optional_command(commands, module, adder)
    return parser


def _optional_command(commands, module, adder):
    import importlib
    try:
        getattr(importlib.import_module(module), adder)(commands)
    except ImportError:
        return


def add_source_arguments(parser):
    parser.add_argument("source", metavar="SOURCE", help="an expression, a file holding one, or a Python "
                        "function as path/to/model.py:name")
    parser.add_argument("--wrt", action="append", metavar="NAME", help="differentiate with respect to NAME "
                        "(repeatable; default every input)")
    parser.add_argument("--shape", action="append", default=[], metavar="NAME=D1,D2",
                        help="declare an input's shape with int or named dims, e.g. X=n,d (default scalar)")


def add_point_arguments(parser):
    parser.add_argument("--at", action="append", default=[], metavar="NAME=VALUE",
                        help="an input's value: x=2, w=-3,2,-3, or a matrix as rows: A=1,2;3,4")
    parser.add_argument("--at-file", metavar="FILE.npz", help="input values from a .npz file")


def read_source(text):
    """SOURCE is `file.py:function` (found with ast; the file is not run), a path to a file, or the expression."""
    from gradc.functions import from_file, split_spec
    if "\n" not in text and len(text) < 4096 and split_spec(text):
        return from_file(*split_spec(text))
    if "\n" not in text and len(text) < 4096 and os.path.isfile(text):
        with open(text, encoding="utf-8") as file:
            return file.read()
    return text


def parse_shapes(items):
    shapes = {}
    for item in items:
        name, _, dims = item.partition("=")
        if not _ or not name.isidentifier():
            raise UsageError(f"--shape expects NAME=D1,D2 (e.g. X=n,d), got {item!r}")
        shapes[name] = tuple(int(d) if d.strip().lstrip("-").isdigit() else d.strip()
                             for d in dims.split(",") if d.strip())
    return shapes


def parse_point(items, at_file=None):
    point = {}
    if at_file:
        try:
            with np.load(at_file) as data:
                point.update({name: data[name] for name in data.files})
        except (OSError, ValueError) as error:
            raise UsageError(f"cannot read {at_file}: {error}") from None
    for item in items:
        name, _, text = item.partition("=")
        if not _ or not name.isidentifier():
            raise UsageError(f"--at expects NAME=VALUE (e.g. w=-3,2,-3), got {item!r}")
        try:
            rows = [[float(v) for v in row.split(",")] for row in text.split(";")]
        except ValueError:
            raise UsageError(f"--at {name}: {text!r} is not a number or a comma-separated list") from None
        value = np.array(rows if ";" in text else rows[0])
        point[name] = float(value[0]) if value.shape == (1,) and "," not in text else value
    return point


def compile_from(args):
    import gradc
    source = read_source(args.source)
    return gradc.compile(source, wrt=args.wrt, shapes=parse_shapes(args.shape))


def run_compile(args):
    fn = compile_from(args)
    text = fn.source_with([name.strip() for item in args.emit for name in item.split(",") if name.strip()])
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_check(args):
    from gradc.check import compare, random_point
    fn = compile_from(args)
    point = random_point(fn, parse_point(args.at, args.at_file), seed=args.seed)
    value = fn.forward(**point)
    rows = compare(fn, point, eps=args.eps)
    print(f"f = {np.asarray(value)!s} at " + ", ".join(f"{k}={_short(v)}" for k, v in point.items()))
    print(f"{'input':<12}{'compiled':>16}{'numeric':>16}{'abs error':>12}{'rel error':>12}")
    for name, index, analytic, numeric, error, relative in rows:
        label = name + (str(list(index)) if index else "")
        print(f"{label:<12}{analytic:>16.8g}{numeric:>16.8g}{error:>12.2e}{relative:>12.2e}")
    worst = max((row[5] for row in rows), default=0.0)
    ok = worst <= args.rtol
    print(f"{'OK' if ok else 'MISMATCH'}: largest relative error {worst:.2e} (rtol {args.rtol:g})")
    return 0 if ok else 1


def _short(value):
    array = np.asarray(value)
    return f"{float(array):g}" if array.ndim == 0 else f"array{array.shape}"


def run_ops(args):
    from gradc.ops import REGISTRY
    from gradc.parse import FUNCTIONS
    aliases = {}
    for name, (op, _, _) in FUNCTIONS.items():
        aliases.setdefault(op, []).append(name)
    print("Operators: + - * / ** (power), unary -, @ (matrix product), .T, x[i] (integer constants)")
    print("Functions (also as np.<name> or numpy.<name>):")
    for op in REGISTRY.values():
        if op.name in aliases:
            print(f"  {', '.join(aliases[op.name]):<24}{op.doc}")
    print("Constants: pi")
    return 0


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.run(args)
    except GradcError as error:
        print(f"gradc: error: {error}", file=sys.stderr)
        caret = error.caret()
        if caret:
            print(caret, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `gradc ops | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        detail = f"{error.strerror}: {error.filename}" if error.strerror else str(error)
        print(f"gradc: error: {detail}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
