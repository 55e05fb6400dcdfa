"""`gradc render`: draw an expression's forward and backward passes to .svg, .png, .pdf or .dot, or step
through them in the browser (.html).

    gradc render '(x + y) * z' --at x=-2 --at y=5 --at z=-4 -o circuit.png
    gradc render '(x + y) * z' --at x=-2 --at y=5 --at z=-4 -o lesson.html
    gradc render '0.5*sum((X @ w - y)**2)' --shape X=n,d --shape w=d --shape y=n --at-file point.npz
"""
from pathlib import Path

import numpy as np

from gradc import pipeline
from gradc.cli.arguments import (add_point_arguments, add_shape_argument, add_source_argument, add_wrt_argument,
                                 check_output, load_npz, parse_shapes, parse_values, read_source, source_file)
from gradc.viz.layout import write
from gradc.viz.lesson import lesson
from gradc.viz.render import LAYOUTS, LR_RANKS, PASSES, STAGES, RenderError, render



def add_render_parser(subparsers):
    """Adds the `render` subcommand to an argparse subparsers object and returns its parser."""
    p = subparsers.add_parser("render", help="draw the forward and backward passes with Graphviz",
                              description=__doc__.split("\n\n")[0])
    add_source_argument(p)
    add_shape_argument(p)
    add_wrt_argument(p)
    add_point_arguments(p)
    p.add_argument("--pass", dest="pass_", choices=PASSES, default="both", help="which picture (default both)")
    p.add_argument("--stage", choices=STAGES, default="final",
                   help="draw the graph as written (parsed), simplified, or as compiled (final, the default)")
    p.add_argument("--layout", choices=LAYOUTS, default="auto",
                   help="lr: left to right, tb: top to bottom; auto (the default) turns to tb past "
                        f"{LR_RANKS} gates in a row")
    p.add_argument("-o", "--output", default="gradc.svg", metavar="FILE",
                   help="a .svg (default gradc.svg), .png, .pdf or .dot file, or a .html page that steps "
                        "through the passes at the point given by --at")
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
    stages = pipeline.run(source, args.wrt, shapes, strict=True)
    if Path(args.output).suffix.lower() == ".html":
        path = _write_page(lesson(stages, at), args.output)
    else:
        path = write(render(stages, at=at or None, pass_=args.pass_, stage=args.stage, layout=args.layout),
                     args.output)
    print(f"wrote {path}", file=out)
    return 0


def _write_page(html, path):
    try:
        Path(path).write_text(html, encoding="utf-8")
    except OSError as error:
        raise RenderError(f"cannot write '{path}': {error.strerror or error}") from None
    return path
