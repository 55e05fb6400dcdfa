"""`gradc render`: draw an expression's forward and backward passes to .svg, .png, .pdf or .dot.

    gradc render '(x + y) * z' --at x=-2 --at y=5 --at z=-4 -o circuit.png
    gradc render '0.5*sum((X @ w - y)**2)' --shape X=n,d --shape w=d --shape y=n --at-file point.npz
"""
import os
import shutil
from pathlib import Path

import graphviz
import numpy as np

from gradc import pipeline
from gradc.render import PASSES, STAGES, RenderError, render
from gradc.render_values import parse_value
from gradc.shapes import check_dims

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None, ".gv": None}
NO_DOT = ("writing {suffix} needs Graphviz's `dot` program, which was not found: install Graphviz "
          "(apt-get install graphviz, or brew install graphviz) or write a .dot file")


def add_render_parser(subparsers):
    """Adds the `render` subcommand to an argparse subparsers object and returns its parser."""
    p = subparsers.add_parser("render", help="draw the forward and backward passes with Graphviz",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("source", metavar="SOURCE", help="expression text, or a file holding it")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=D1,D2",
                   help="an input's shape; dims are numbers or names (NAME= for a scalar)")
    p.add_argument("--wrt", action="append", metavar="NAME", help="differentiate with respect to NAME only "
                   "(repeatable; default every input)")
    p.add_argument("--at", action="append", default=[], metavar="NAME=VALUE",
                   help="the point: a number, a vector -3,2,-3 or a matrix 1,2;3,4 (repeatable)")
    p.add_argument("--at-file", metavar="FILE.npz", help="the point as named arrays (np.savez writes one)")
    p.add_argument("--pass", dest="pass_", choices=PASSES, default="both", help="which picture (default both)")
    p.add_argument("--stage", choices=STAGES, default="final",
                   help="draw the forward graph as written (parsed), simplified, or as compiled (final)")
    p.add_argument("-o", "--output", default="gradc.svg", metavar="FILE",
                   help="a .svg (default gradc.svg), .png, .pdf or .dot file")
    p.set_defaults(run=run_render)  # gradc.cli calls args.run(args)
    return p


def run_render(args, out=None):
    """Runs `gradc render`; returns 0. Bad arguments raise GradcError subclasses."""
    source = _read_source(args.source)
    at = _load_point(args.at_file)
    at.update({name: _value(name, text) for name, text in _pairs(args.at, "--at").items()})
    shapes = {name: _dims(name, text) for name, text in _pairs(args.shape, "--shape").items()}
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


def _read_source(text):
    # As in `gradc compile`: a SOURCE naming an existing file is read from it, anything else is the expression.
    if "\n" not in text and len(text) < 4096 and os.path.isfile(text):
        with open(text, encoding="utf-8") as file:
            return file.read()
    return text


def _pairs(items, flag):
    pairs = {}
    for item in items or ():
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier():
            raise RenderError(f"{flag} takes NAME=VALUE, got {item!r}")
        pairs[name] = value.strip()
    return pairs


def _value(name, text):
    try:
        return parse_value(text)
    except ValueError:
        raise RenderError(f"--at {name}={text}: give a number, a vector like -3,2,-3 or a matrix like 1,2;3,4") \
            from None


def _dims(name, text):
    dims = [d.strip() for d in text.strip("()").split(",") if d.strip()]
    return check_dims(tuple(int(d) if d.isdigit() else d for d in dims))


def _load_point(path):
    if path is None:
        return {}
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise RenderError(f"cannot read {path}: {error}") from None
    if not hasattr(archive, "files"):
        raise RenderError(f"{path} is not an .npz archive of named arrays (np.savez writes one)")
    with archive:
        return {name: archive[name].astype(float) for name in archive.files}
