"""Read the command line's shared arguments: SOURCE, --shape NAME=D1,D2, --at NAME=VALUE and .npz files.

`gradc compile`, `check`, `explain`, `render` and `fit` all parse these here, so each spelling means the
same thing in every subcommand and a malformed one is the same one-line error.
"""
import os

import numpy as np

from gradc.errors import GradcError
from gradc.shapes import check_dims

SOURCE_HELP = "an expression, a file holding one, or a Python function as path/to/model.py:name"
SHAPE_HELP = "declare an input's shape with int or named dims, e.g. X=n,d (default scalar)"
AT_HELP = "an input's value: x=2, w=-3,2,-3, or a matrix as rows: A=1,2;3,4"
NOT_NPZ = "{path} is not an .npz archive of named arrays (np.savez writes one)"


class UsageError(GradcError):
    """The command line itself is malformed."""


def add_source_argument(parser, help=SOURCE_HELP):
    parser.add_argument("source", metavar="SOURCE", help=help)


def add_shape_argument(parser):
    parser.add_argument("--shape", action="append", default=[], metavar="NAME=D1,D2", help=SHAPE_HELP)


def add_point_arguments(parser):
    parser.add_argument("--at", action="append", default=[], metavar="NAME=VALUE", help=AT_HELP)
    parser.add_argument("--at-file", metavar="FILE.npz", help="input values from a .npz file")


def read_source(text):
    """SOURCE is `file.py:function` (found with ast; the file is not run), a path to a file, or the expression."""
    from gradc.functions import from_file, split_spec  # late: gradc.functions pulls in the parser
    # NOTE: an expression may contain ':' or name no file; only a one-line, path-sized text is tried as a path.
    if "\n" not in text and len(text) < 4096 and split_spec(text):
        return from_file(*split_spec(text))
    if "\n" not in text and len(text) < 4096 and os.path.isfile(text):
        with open(text, encoding="utf-8") as file:
            return file.read()
    return text


def parse_pairs(items, flag, form="NAME=VALUE"):
    """`NAME=TEXT` items -> {name: stripped text}; a later item for a name replaces an earlier one."""
    pairs = {}
    for item in items or ():
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier():
            raise UsageError(f"{flag} expects {form}, got {item!r}")
        pairs[name] = text.strip()
    return pairs


def parse_shapes(items):
    """`--shape` items -> {name: dims}: `X=n,d` and `X=(n,d)` give ("n", "d"); `x=` gives a scalar."""
    shapes = {}
    for name, text in parse_pairs(items, "--shape", "NAME=D1,D2 (e.g. X=n,d)").items():
        dims = [d.strip() for d in text.strip("()").split(",") if d.strip()]
        shapes[name] = check_dims(tuple(int(d) if d.lstrip("-").isdigit() else d for d in dims))
    return shapes


def parse_value(text):
    """`-2` -> -2.0, `-3,2,-3` -> a vector, `1,2;3,4` -> a matrix (rows split by `;`)."""
    rows = text.split(";")
    parsed = [[float(item) for item in row.split(",") if item.strip()] for row in rows]
    if not all(parsed):
        raise ValueError(f"no number in {text!r}")
    if len(parsed) > 1:
        return np.array(parsed)  # NOTE: ragged rows raise ValueError here too
    row = parsed[0]
    if len(row) == 1 and "," not in text:
        return row[0]
    return np.array(row)


def parse_values(items):
    """`--at` items -> {name: float or array}."""
    values = {}
    for name, text in parse_pairs(items, "--at", "NAME=VALUE (e.g. w=-3,2,-3)").items():
        try:
            values[name] = parse_value(text)
        except ValueError:
            raise UsageError(f"--at {name}={text}: give a number, a vector like -3,2,-3 "
                             "or a matrix like 1,2;3,4") from None
    return values


def parse_point(items, at_file=None):
    """The point of `--at-file` (if given) and `--at` items; --at wins where both name an input."""
    point = load_npz(at_file) if at_file else {}
    point.update(parse_values(items))
    return point


def load_npz(path, what=""):
    """The named arrays of the .npz file at `path`; `what` ("data file") goes in the error message."""
    try:
        archive = np.load(path, allow_pickle=False)
        if not hasattr(archive, "files"):  # a .npy file gives a plain array
            raise UsageError(NOT_NPZ.format(path=path))
        with archive:
            return {name: archive[name] for name in archive.files}  # object arrays raise ValueError here
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read {what + ' ' if what else ''}{path}: {error}") from None
