"""`gradc render`: draw an expression's forward and backward passes to .svg, .png, .pdf or .dot.

    gradc render '(x + y) * z' --at x=-2 --at y=5 --at z=-4 -o circuit.png
    gradc render '0.5*sum((X @ w - y)**2)' --shape X=n,d --shape w=d --shape y=n --at-file point.npz
"""
import contextlib
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import numpy as np

from gradc import pipeline
from gradc.cli.arguments import (add_point_arguments, add_shape_argument, add_source_argument, check_output, load_npz,
                             parse_shapes, parse_values, read_source, source_file)
from gradc.viz.render import PASSES, STAGES, RenderError, render

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None, ".gv": None}
NO_DOT = ("writing {suffix} needs Graphviz's `dot` program, which was not found: install Graphviz "
          "(apt-get install graphviz, or brew install graphviz) or write a .dot file")
LAYOUT_SECONDS = 30  # a picture within render.MAX_NODES takes dot a second or two; past this dot is stopped


def add_render_parser(subparsers):
    """Adds the `render` subcommand to an argparse subparsers object and returns its parser."""
    p = subparsers.add_parser("render", help="draw the forward and backward passes with Graphviz",
                              description=__doc__.split("\n\n")[0])
    add_source_argument(p)
    add_shape_argument(p)
    p.add_argument("--wrt", action="append", metavar="NAME", help="differentiate with respect to NAME only "
                   "(repeatable; default every input)")
    add_point_arguments(p)
    p.add_argument("--pass", dest="pass_", choices=PASSES, default="both", help="which picture (default both)")
    p.add_argument("--stage", choices=STAGES, default="final",
                   help="draw the forward graph as written (parsed), simplified, or as compiled (final)")
    p.add_argument("-o", "--output", default="gradc.svg", metavar="FILE",
                   help="a .svg (default gradc.svg), .png, .pdf or .dot file")
    p.set_defaults(run=run_render)  # gradc.cli.main calls args.run(args)
    return p


def run_render(args, out=None):
    """Runs `gradc render`; returns 0. Bad arguments raise GradcError subclasses."""
    check_output(args.output, "-o", [source_file(args.source), args.at_file])
    source = read_source(args.source)
    at = load_npz(args.at_file) if args.at_file else {}  # render() makes each value float64, or refuses it
    at.update(parse_values(args.at))
    shapes = parse_shapes(args.shape)
    for name, value in at.items():  # an array given without --shape is drawn with its own shape
        if name not in shapes and np.ndim(value):
            shapes[name] = tuple(np.shape(value))
    stages = pipeline.run(source, args.wrt, shapes)
    dot = render(stages, at=at or None, pass_=args.pass_, stage=args.stage)
    path = write(dot, args.output)
    print(f"wrote {path}", file=out)
    return 0


def write(dot, path, timeout=LAYOUT_SECONDS):
    """Write `dot` to `path` in the format its suffix names; .dot needs no Graphviz installation.

    Graphviz's `dot` lays the picture out in a child process that is ended after `timeout` seconds, or
    when gradc is interrupted or terminated, so it never outlives the call.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise RenderError(f"cannot write '{path}': give a file ending in .svg, .png, .pdf or .dot")
    data = dot.source.encode("utf-8") if FORMATS[suffix] is None else _layout(dot.source, suffix, timeout)
    try:
        path.write_bytes(data)
    except OSError as error:
        raise RenderError(f"cannot write '{path}': {error.strerror or error}") from None
    return path


def _layout(source, suffix, timeout):
    """The DOT text `source` drawn by `dot` in the format of `suffix`, in at most `timeout` seconds."""
    program = shutil.which("dot")
    if program is None:
        raise RenderError(NO_DOT.format(suffix=suffix))
    try:
        with _sigterm_as_exit():  # subprocess.run kills dot on any exception, a timeout included, then waits
            done = subprocess.run([program, f"-T{FORMATS[suffix]}"], input=source.encode("utf-8"),
                                  capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz took more than {timeout:g} s to lay out the picture and was stopped: "
                          f"draw a smaller expression, or write a .dot file") from None
    except OSError as error:
        raise RenderError(f"cannot run Graphviz's dot: {error.strerror or error}") from None
    if done.returncode:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"Graphviz failed: {detail[0] if detail else f'exit status {done.returncode}'}")
    return done.stdout


@contextlib.contextmanager
def _sigterm_as_exit():
    """Make SIGTERM raise SystemExit for a while, so that the code unwinding kills `dot` on the way out.

    By default SIGTERM (`kill`, `timeout`) ends Python at once, leaving the child laying out a picture for
    minutes. Only a handler of the main thread runs, and one the program installed itself is kept.
    """
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _exit(signum, frame):
    """SIGTERM's handler while dot runs: exit with the status the signal itself would give (143)."""
    raise SystemExit(128 + signum)
