"""The command line: gradc compile | check | explain | render | fit | ops; errors are one line and exit status 2."""
import argparse
import os
import sys

import numpy as np

from gradc.version import __version__
from gradc.cli.arguments import (HelpFormatter, UsageError, add_point_arguments, add_source_arguments, check_output,
                                 compile_from, names, number, parse_point, source_file)
from gradc.cli.explain import add_explain_parser
from gradc.cli.fit import add_fit_parser
from gradc.cli.render import add_render_parser
from gradc.errors import GradcError
from gradc.gradcheck import check as check_point, finite_draw, draw, limit_differences
from gradc.frontend.parse import CONSTANTS, NUMPY_CONSTANTS
from gradc.ops import REGISTRY
from gradc.ops.catalog import sections

EXAMPLES = """examples:
  gradc compile '(x + y) * z'
  gradc compile model.py:loss --wrt w --shape X=n,d --shape w=d --shape y=n
  gradc compile '0.5*sum((X@w - y)**2)' --wrt w --shape X=n,d --shape y=n --shape w=d -o least_squares.py
  gradc check 'x / (x + y)' --at x=-1 --at y=2
  gradc check 'sum(softmax(z) * t)' --shape z=k --shape t=k
  gradc render '(x + y) * z' --at x=-2 --at y=5 --at z=-4 -o circuit.svg
  gradc compile 'sum(tanh(W @ x))' --shape W=m,n --shape x=n --emit jvp,vjp,jacobian,hvp,hessian
  gradc explain '0.5*sum((X@w - y)**2)' --wrt w --shape X=n,d --shape y=n --shape w=d --latex
  gradc ops

Run `gradc COMMAND --help` for a command's flags and examples.
"""
COMPILE_HELP = """Write the standalone NumPy module computing the value and the gradient of SOURCE (value_and_grad,
forward, gradient), and with --emit the derivatives beyond it."""
COMPILE_EXAMPLES = """examples:
  gradc compile '(x + y) * z'
  gradc compile '0.5*sum((X@w - y)**2)' --wrt w --shape X=n,d --shape y=n --shape w=d -o least_squares.py
  gradc compile model.py:loss --wrt w,b --shape X=n,d --shape w=d --shape y=n
  gradc compile 'softmax(z)' --shape z=k --emit vjp,jvp
"""
CHECK_HELP = """Compare the compiled gradient (the Jacobian, for an array output) with central finite differences at
a point: the values given by --at and --at-file, random ones for the other inputs. A random input is drawn
inside the domains of the ops that read it (log's from (0.5, 2)), and drawn again where the value or the
derivative comes out nan or inf. Each input gets a table of its worst elements and a summary line."""
CHECK_EXAMPLES = """examples:
  gradc check 'x / (x + y)' --at x=-1 --at y=2
  gradc check 'sum(log(x))' --shape x=n
  gradc check '0.5*sum((X@w - y)**2)' --shape X=n,d --shape y=n --shape w=d --wrt w --verbose
  gradc check 'softmax(z)' --shape z=k          # the Jacobian of a vector output
  gradc check 'relu(x)' --at x=0                # a kink: not differentiable there

exit status:
  0  the derivative matches; at a kink (the one-sided differences disagree, so the function is not
     differentiable there) the compiled value lies between the one-sided differences
  1  MISMATCH: some element is further off than --rtol (or not finite)
  2  bad input (one line: gradc: error: ...)
"""
OPS_HELP = "List the operators and functions of the source language, as the op table has them."
OPS_EXAMPLES = """examples:
  gradc ops
  gradc ops | grep softmax
"""
WORST = 5  # rows of each input's table, worst first, without --verbose


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, formatter_class=HelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def error(self, message):
        raise UsageError(message)


def build_parser():
    parser = _Parser(prog="gradc", description="Turn math expressions into standalone NumPy gradient code.",
                     epilog=EXAMPLES)
    parser.add_argument("--version", action="version", version=f"gradc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=_Parser)

    compile_ = commands.add_parser("compile", help="write the module computing the value and gradient",
                                   description=COMPILE_HELP, epilog=COMPILE_EXAMPLES)
    add_source_arguments(compile_)
    compile_.add_argument("-o", "--output", help="write the module here (default: standard output)")
    compile_.add_argument("--readable", action="store_true",
                          help="write it the way a textbook would: no in-place writes, one operation per line, "
                               "each backward line commented with its chain-rule step (default: the fast form)")
    compile_.add_argument("--backend", choices=("numpy", "array-api"), default="numpy",
                          help="numpy (default), or array-api: a module for any Array API namespace (NumPy, "
                               "CuPy, PyTorch, JAX), taking its namespace from its inputs")
    compile_.add_argument("--emit", action="extend", type=names, default=[], metavar="NAMES",
                          help="also write these functions, comma-separated: jvp, vjp, jacobian, hvp, hessian "
                               "(default: none; value_and_grad is there for a scalar output)")
    compile_.set_defaults(run=run_compile)

    check = commands.add_parser("check", help="compare the gradient with central finite differences",
                                description=CHECK_HELP, epilog=CHECK_EXAMPLES)
    add_source_arguments(check)
    add_point_arguments(check)
    check.add_argument("--eps", type=number(above=0), default=1e-6, help="finite-difference step")
    check.add_argument("--rtol", type=number(minimum=0), default=1e-5, help="largest relative error accepted")
    check.add_argument("--seed", type=number(minimum=0, whole=True), default=0, help="seed of the random point")
    check.add_argument("-v", "--verbose", action="store_true",
                       help=f"print every element (default: the {WORST} worst of each input)")
    check.set_defaults(run=run_check)

    ops = commands.add_parser("ops", help="list the supported operations", description=OPS_HELP,
                              epilog=OPS_EXAMPLES)
    ops.set_defaults(run=run_ops)

    for add_parser in (add_render_parser, add_fit_parser, add_explain_parser):
        add_parser(commands)
    return parser


def run_compile(args):
    if args.output:  # before compiling: `-o model.py` must not replace the model it compiles
        check_output(args.output, "-o", [source_file(args.source)])
    fn = compile_from(args)
    text = fn.source_with(args.emit)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_check(args):
    fn = compile_from(args)
    at = parse_point(args.at, args.at_file)
    first = draw(fn, at, seed=args.seed)
    limit_differences(fn, first.point)
    with np.errstate(all="ignore"):  # a nan or inf is reported in the table, not as a RuntimeWarning
        point, notes = finite_draw(fn, at, seed=args.seed, first=first)
        value = fn.forward(**point)
        rows = check_point(fn, point, eps=args.eps)
    print(f"f = {_value(value)} at " + ", ".join(f"{k}={_short(v)}" for k, v in point.items()))
    for note in notes:
        print(note)
    width = max([12] + [len(row.label) + 2 for row in rows])
    print(f"{'input':<{width}}{'compiled':>16}{'numeric':>16}{'abs error':>12}{'rel error':>12}")
    for name in fn.wrt:
        _print_input(name, [row for row in rows if row.name == name], width, args)
    worst = max((row.relative for row in rows), default=0.0)
    kinks = [row for row in rows if row.kink]
    ok = worst <= args.rtol
    print(f"{'OK' if ok else 'MISMATCH'}: largest relative error {worst:.2e} (rtol {args.rtol:g})"
          + (f"; not differentiable at {_elements(kinks)}, "
             f"where the compiled value {'lies' if ok else 'should lie'} between the one-sided differences"
             if kinks else ""))
    return 0 if ok else 1


def _print_input(name, rows, width, args):
    shown = rows if args.verbose else sorted(rows, key=lambda row: -row.relative)[:WORST]
    shown = sorted(shown, key=rows.index) if args.verbose else shown
    for row in shown:
        print(f"{row.label:<{width}}{row.compiled:>16.8g}{row.numeric:>16.8g}{row.error:>12.2e}{row.relative:>12.2e}")
        if row.kink:
            print(f"  not differentiable at {row.label}: the one-sided differences disagree "
                  f"({row.left:.8g} from the left, {row.right:.8g} from the right)")
    if len(rows) > 1:
        worst = max(rows, key=lambda row: row.relative)
        hidden = len(rows) - len(shown)
        more = f"; {hidden} more not shown (--verbose prints them)" if hidden else ""
        kinks = sum(row.kink for row in rows)
        print(f"  {name}: {len(rows)} elements, largest relative error {worst.relative:.2e} at {worst.label}"
              + (f", {kinks} not differentiable" if kinks else "") + more)


def _elements(rows):
    labels = [row.label for row in rows]
    return ", ".join(labels[:3]) + (f" and {len(labels) - 3} more" if len(labels) > 3 else "")


def _value(value):
    array = np.asarray(value)
    return str(array) if array.ndim == 0 else np.array2string(array, threshold=8, edgeitems=2, precision=6)


def _short(value):
    array = np.asarray(value)
    return f"{float(array):g}" if array.ndim == 0 else f"array{array.shape}"


def run_ops(args):
    """The source language, from the op entries: each operator (its doc shows it), then each function by its
    names, grouped by section."""
    print("Operators:")
    for op in REGISTRY.values():
        if op.operator:
            print(f"  {op.doc}")
    print("Functions (also as np.<name> or numpy.<name>; methods x.<name>(...) where NumPy has them):")
    for heading, ops in sections():
        if not ops:
            continue
        print(f"  {heading}:")
        for op in ops:
            print(f"    {', '.join(op.names):<24}{op.doc}")
    print(f"Constants: {', '.join(CONSTANTS)}, {', '.join('np.' + name for name in NUMPY_CONSTANTS)}")
    return 0


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:  # `gradc` alone: the usage and the list of commands, as for a usage error
            print(parser.format_help(), end="", file=sys.stderr)
            return 2
        return args.run(args)
    except GradcError as error:
        print(f"gradc: error: {error.headline()}", file=sys.stderr)
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
