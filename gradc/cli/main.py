"""The command line: gradc compile | check | render | fit | ops; errors are one line and exit status 2."""
import argparse
import os
import sys

import numpy as np

from gradc.version import __version__
from gradc.cli.arguments import (UsageError, add_point_arguments, add_source_arguments, check_output, compile_from,
                                 number, parse_point, source_file)
from gradc.cli.explain import add_explain_parser
from gradc.cli.fit import add_fit_parser
from gradc.cli.render import add_render_parser
from gradc.errors import GradcError
from gradc.gradcheck import compare, limit_differences, random_point
from gradc.ops import REGISTRY

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
    check.add_argument("--eps", type=number(above=0), default=1e-6, help="finite-difference step (default 1e-6)")
    check.add_argument("--rtol", type=number(minimum=0), default=1e-5, help="largest relative error accepted")
    check.add_argument("--seed", type=number(minimum=0, whole=True), default=0, help="seed of the random point")
    check.set_defaults(run=run_check)

    ops = commands.add_parser("ops", help="list the supported operations")
    ops.set_defaults(run=run_ops)

    for add_parser in (add_render_parser, add_fit_parser, add_explain_parser):
        add_parser(commands)
    return parser


def run_compile(args):
    if args.output:  # before compiling: `-o model.py` must not replace the model it compiles
        check_output(args.output, "-o", [source_file(args.source)])
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
    fn = compile_from(args)
    point = random_point(fn, parse_point(args.at, args.at_file), seed=args.seed)
    limit_differences(fn, point)
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
    """The source language, from the op entries: each operator (its doc shows it) and each function by its names."""
    print("Operators:")
    for op in REGISTRY.values():
        if op.operator:
            print(f"  {op.doc}")
    print("Functions (also as np.<name> or numpy.<name>):")
    for op in REGISTRY.values():
        if op.names:
            print(f"  {', '.join(op.names):<24}{op.doc}")
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
    except MemoryError as error:  # NumPy's message says how much it wanted, for which shape
        print(f"gradc: error: out of memory{': ' + str(error) if str(error) else ''}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `gradc ops | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        detail = str(error)
        if error.strerror:  # `/dev/full` has no filename to name
            detail = error.strerror + (f": {error.filename}" if error.filename is not None else "")
        print(f"gradc: error: {detail}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
