"""`gradc render`: draw an expression's forward and backward passes to .svg, .png, .pdf or .dot.

    gradc render '(x + y) * z' --at x=-2 --at y=5 --at z=-4 -o circuit.png
    gradc render '0.5*sum((X @ w - y)**2)' --shape X=n,d --shape w=d --shape y=n --at-file point.npz
"""
import shutil
from pathlib import Path

import graphviz
import numpy as np

from gradc import pipeline
from gradc.arguments import (add_point_arguments, add_shape_argument, add_source_argument, load_npz, parse_shapes,
                             parse_values, read_source)
from gradc.render import PASSES, STAGES, RenderError, render

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None, ".gv": None}
NO_DOT = ("writing {suffix} needs Graphviz's `dot` program, which was not found: install Graphviz "
          "(apt-get install graphviz, or brew install graphviz) or write a .dot file")


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
    p.set_defaults(run=run_render)  # gradc.cli calls args.run(args)
    return p


def run_render(args, out=None):
    """Runs `gradc render`; returns 0. Bad arguments raise GradcError subclasses."""
    source = read_source(args.source)
    at = {name: array.astype(float) for name, array in load_npz(args.at_file).items()} if args.at_file else {}
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


def write(dot, path):
    """Write `dot` to `path` in the format its suffix names; .dot needs no Graphviz installation."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise RenderError(f"cannot write '{path}': give a file ending in .svg, .png, .pdf or .dot")
    if FORMATS[suffix] is None:
        data = dot.source.encode("utf-8")
    else:
        if shutil.which("dot") is None:
            raise RenderError(NO_DOT.format(suffix=suffix))
        try:
            data = dot.pipe(format=FORMATS[suffix])
        except graphviz.ExecutableNotFound:
            raise RenderError(NO_DOT.format(suffix=suffix)) from None
        except graphviz.CalledProcessError as error:
            detail = (error.stderr or b"").decode("utf-8", "replace").strip().splitlines()
            raise RenderError(f"Graphviz failed: {detail[0] if detail else error}") from None
    try:
        path.write_bytes(data)
    except OSError as error:
        raise RenderError(f"cannot write '{path}': {error.strerror or error}") from None
    return path
