"""Read the command line's shared arguments: SOURCE, --shape NAME=D1,D2, --at NAME=VALUE and .npz files.

`gradc compile`, `check`, `explain`, `render` and `fit` all parse these here, so each spelling means the
same thing in every subcommand and a malformed one is the same one-line error.
"""
import argparse
import math
import os
import zipfile
import zlib

import numpy as np

from gradc.api import compile
from gradc.pipeline import check_shapes_used
from gradc.errors import GradcError
from gradc.frontend.pyfunc import from_file, function_names, read_text
from gradc.shapes import shape_of_text

SOURCE_HELP = "an expression, a file holding one, or a Python function as path/to/model.py:name"
SHAPE_HELP = "declare an input's shape with int or named dims, e.g. X=n,d (repeatable; default: a scalar)"
AT_HELP = "an input's value: x=2, w=-3,2,-3, or a matrix as rows: A=1,2;3,4 (repeatable; default: random)"
WRT_HELP = "differentiate with respect to these inputs, comma-separated: w,b (repeatable; default: every input)"
NOT_NPZ = "{path} is not an .npz archive of named arrays (np.savez writes one)"
REAL_KINDS = "fiub"  # float, int, unsigned, bool: the dtypes that are real numbers
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # how a zip archive (an .npz) begins: with a member, or empty
NPY_MAGIC = (b"\x93NUMPY",)  # how an .npy file begins


class UsageError(GradcError):
    """The command line itself is malformed."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples as written; every flag's help ends with its default, unless it says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if not action.option_strings or "default" in text or action.default is argparse.SUPPRESS:
            return text
        if action.default is None or action.default == []:
            return text  # the help says in words what leaving the flag out means
        if action.default is False:
            return text + " (default: off)"
        return text + " (default: %(default)s)"


def names(text):
    """An argparse `type` for a comma list of names (`w,b`): the list, without blanks; used with action="extend"
    so that `--wrt w,b` and `--wrt w --wrt b` are the same, as `--emit jvp,vjp` is."""
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        raise argparse.ArgumentTypeError(f"expected names separated by commas, got {text!r}")
    return [item for item in items if item]


def add_wrt_argument(parser, help=WRT_HELP):
    parser.add_argument("--wrt", action="extend", type=names, metavar="NAMES", help=help)


def add_source_argument(parser, help=SOURCE_HELP):
    parser.add_argument("source", metavar="SOURCE", help=help)


def add_shape_argument(parser):
    parser.add_argument("--shape", action="append", default=[], metavar="NAME=D1,D2", help=SHAPE_HELP)


def add_point_arguments(parser):
    parser.add_argument("--at", action="append", default=[], metavar="NAME=VALUE", help=AT_HELP)
    parser.add_argument("--at-file", metavar="FILE.npz", help="input values from a .npz file (default: none; "
                        "--at wins where both give an input)")


def read_source(text):
    """SOURCE is `file.py:function` (found with ast; the file is not run), a path to a file, or the expression."""
    path, name = _source_path(text)
    if name:
        return from_file(path, name)
    return read_text(path) if path else text


def source_file(text):
    """The file SOURCE is read from (`model.py` of `model.py:loss`, or an expression's file), or None."""
    return _source_path(text)[0]


def _source_path(text):
    """(path, function) for `file.py:function`, (path, None) for a file holding an expression, else (None, None).

    One rule, whatever the working directory holds: `PATH.py:NAME` is a function and `PATH.py` alone asks for
    its NAME (a missing file is said to be missing); any other text names a file only where that file exists
    and the text is not a bare name, so `x` is always the expression x (write ./x for a file named x).
    """
    # NOTE: an expression may contain ':' or name no file; only a one-line, path-sized text is tried as a path.
    if "\n" in text or len(text) >= 4096:
        return None, None
    path, colon, name = text.rpartition(":")
    if colon and path.endswith(".py") and name.isidentifier():
        if not os.path.isfile(path):
            raise UsageError(f"no such file: {path}")
        return path, name
    if text.endswith(".py"):
        if not os.path.isfile(text):
            raise UsageError(f"no such file: {text}")
        raise UsageError(f"{text} is a Python file: name the function to compile, as {text}:NAME "
                         f"(functions: {', '.join(function_names(text)) or 'none'})")
    return (text, None) if os.path.isfile(text) and not text.isidentifier() else (None, None)


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
    """`--shape` items -> {name: dims}: `X=n,d` and `X=(n,d)` give ("n", "d"); `x=` gives a scalar;
    `labels=int:n` an integer input, Int("n")."""
    shapes = {}
    for name, text in parse_pairs(items, "--shape", "NAME=D1,D2 (e.g. X=n,d)").items():
        shapes[name] = shape_of_text(text)
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
    """The named arrays of the .npz file at `path`; `what` ("data file") goes in the error message.

    Every member must be an array of real numbers: a complex array is refused rather than cut to its real
    part, and strings, dates and records are refused rather than failing later inside NumPy.
    """
    label = f"{what + ' ' if what else ''}{path}"
    if not _starts_with(path, ZIP_MAGIC, label):  # a .npy, a text file, /dev/null: np.load would guess at pickles
        raise UsageError(NOT_NPZ.format(path=path))
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}  # object arrays raise ValueError here
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise UsageError(f"cannot read {label}: {error}") from None
    if not arrays:
        raise UsageError(f"{label} holds no arrays")
    for name, array in arrays.items():
        if not isinstance(array, np.ndarray):  # NpzFile gives a member that is not .npy data as bytes
            raise UsageError(f"{label}: member {name!r} is not a NumPy array (.npy data)")
        check_real(array, f"{name} in {label}")
    return arrays


def load_npy(path):
    """The one array of the .npy file at `path`, which must hold real numbers (see `load_npz`)."""
    if not _starts_with(path, NPY_MAGIC, path):
        raise UsageError(f"{path} is not an .npy file of one array (np.save writes one)")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    return check_real(array, path)


def _starts_with(path, magics, label):
    """Whether the file at `path` begins with one of `magics`; an unreadable file is a UsageError."""
    try:
        with open(path, "rb") as file:
            start = file.read(max(map(len, magics)))
    except OSError as error:
        raise UsageError(f"cannot read {label}: {error.strerror or error}") from None
    return any(start.startswith(magic) for magic in magics)


def check_real(array, label):
    """Refuses an array whose dtype is not a real number (bool, int or float): complex, text, dates, records."""
    if array.dtype.kind not in REAL_KINDS:
        kind = "complex" if array.dtype.kind == "c" else "not numbers"
        raise UsageError(f"{label} has dtype {array.dtype} ({kind}): gradc takes real numbers")
    return array


def npz_path(path):
    """Where np.savez-style saving writes `path`: `.npz` is added when the name lacks it."""
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"


def check_output(path, flag, inputs=()):
    """Refuses, before any work is done, an output path that names an input file or cannot be written."""
    for source in inputs:
        if source and _same_file(path, source):
            raise UsageError(f"{flag} {path} is the input file {source}: refusing to write over it")
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path} is a directory")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{flag} {path}: no folder {folder}")
    if not os.access(path if os.path.exists(path) else folder, os.W_OK):
        raise UsageError(f"{flag} {path}: permission denied")


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): they cannot be the same file
        return False


def number(minimum=None, above=None, whole=False):
    """An argparse `type` for a finite number, a whole one if `whole`, >= `minimum` or > `above`.

    nan and inf are refused here, so that no flag silently turns a run into nonsense (`--eps nan`) or
    into a traceback deep inside the run (`--seed -1`).
    """
    kind = "a whole number" if whole else "a finite number"
    bound = f" >= {minimum}" if minimum is not None else f" > {above}" if above is not None else ""

    def convert(text):
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            value = math.nan
        low = (minimum is not None and value < minimum) or (above is not None and not value > above)
        if not math.isfinite(value) or low:
            raise argparse.ArgumentTypeError(f"expected {kind}{bound}, got {text!r}")
        return value
    return convert


def add_source_arguments(parser):
    """SOURCE, --wrt and --shape, as compile, check and explain take them."""
    add_source_argument(parser)
    add_wrt_argument(parser)
    add_shape_argument(parser)


def compile_from(args):
    source = read_source(args.source)
    shapes = parse_shapes(args.shape)
    # NOTE: strict here, in the command line's words: a --shape for a name the source does not use is refused
    fn = compile(source, wrt=args.wrt, shapes=shapes, readable=getattr(args, "readable", False), strict=False,
                 backend=getattr(args, "backend", "numpy"))
    check_shapes_used(fn.inputs, shapes)
    return fn
