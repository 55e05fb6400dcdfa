"""`gradc fit`: compile a loss, load its data, and minimize it from the command line.

    gradc fit '0.5*sum((X @ w - y)**2)' --shape X=n,d --shape y=n --shape w=d \\
        --data train.npz --lr 0.01 -o params.npz

Inputs found in the --data file are data; every other input is a parameter to fit. A parameter's dims may
name a data dimension (`w=d` takes d from X's columns), so shapes are written once, symbolically.

Data larger than memory: `--data DIR` (a Zarr store, or one folder of .npy chunks per input) is read lazily
by a Dask cluster, `--workers N` local worker processes or `--scheduler ADDRESS`, and stays on its workers
(see gradc.cluster).
"""
import contextlib
import itertools
import math
import os
import sys
import zipfile

import numpy as np

from gradc.api import compile
from gradc.cluster.chunks import is_dask
from gradc.cluster.client import connect
from gradc.cluster.data import is_store, open_data
from gradc.cli.arguments import (add_shape_argument, add_source_argument, check_output, load_npy, load_npz, npz_path,
                                 number, parse_pairs, parse_shapes, parse_value, read_source, source_file)
from gradc.errors import GradcError, ShapeError
from gradc.frontend.parse import input_names
from gradc.frontend.pyfunc import Function
from gradc.shapes import show
from gradc.optim.descent import minimize
from gradc.optim.lr_schedules import parse_schedule
from gradc.optim.result import plot_path
from gradc.optim.updates import METHODS

DEFAULT_STD = 0.1  # `--init w=normal`: small enough that tanh and sigmoid units start unsaturated
INIT_FORMS = "use zeros, normal, normal:STD, a number, values like 1,2,3 or FILE.npy"
FIT_METHODS = [*METHODS, "newton"]
WHOLE = number(minimum=0, whole=True)


class FitError(GradcError):
    """Bad `gradc fit` arguments: shapes, data files or initial values."""


def add_fit_parser(subparsers):
    """Adds the `fit` subcommand to an argparse subparsers object and returns its parser."""
    p = subparsers.add_parser("fit", help="minimize a loss over data by gradient descent",
                              description=__doc__.split("\n\n")[0])
    add_source_argument(p, help="the loss: an expression, a file holding one, or path/to/model.py:name")
    add_shape_argument(p)
    p.add_argument("--data", action="append", default=[], metavar="FILE.npz|DIR",
                   help="arrays named after inputs; they are held fixed (repeatable). A directory (a Zarr store, "
                        "or one folder of .npy chunks per input: DIR/X/000.npy ...) is read lazily on a Dask "
                        "cluster, given by --workers or --scheduler")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=number(minimum=1, whole=True), metavar="N",
                       help="run on a local Dask cluster of N worker processes (default: no cluster)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://10.0.0.5:8786 "
                            "(default: no cluster)")
    p.add_argument("--init", action="append", default=[], metavar="NAME=VALUE",
                   help="zeros (the default), normal, normal:STD, a number, values like 1,2,3 or 1,2;3,4 "
                        "(as --at takes them), or FILE.npy")
    p.add_argument("--lr", metavar="LR", help="a number, or polynomial:C0,ALPHA | step:C0,C,T | "
                   "cosine:C0,T[,LR_MIN] (default 0.01; 1, the full step, for newton)")
    p.add_argument("--method", default="gd", choices=FIT_METHODS, metavar="METHOD",
                   help="gd (the default), momentum, nesterov, adam, or newton (steps along the inverse "
                        "Hessian times the gradient, for a few parameters)")
    p.add_argument("--batch-size", type=number(minimum=1, whole=True), metavar="K",
                   help="minibatch rows (default: all data)")
    p.add_argument("--epochs", type=WHOLE, help="passes over the data (default: no limit but --max-iter)")
    p.add_argument("--max-iter", type=WHOLE, help="updates (default 1000 when --epochs is not given)")
    p.add_argument("--tol", type=number(minimum=0), help="stop when the loss changes by less than this (default: "
                   "none; given neither --tol nor --gtol, a full-batch run stops once its gradient norm is 1e-10 "
                   "of its first)")
    p.add_argument("--gtol", type=number(minimum=0), help="stop when the gradient norm drops below this (default: "
                   "none, as for --tol)")
    p.add_argument("--seed", type=WHOLE, default=0, help="seeds --init normal and the shuffling")
    p.add_argument("--plot", metavar="LOSS.png", help="save the loss curve (needs matplotlib; .png if no suffix; "
                   "default: no plot)")
    p.add_argument("-o", "--output", metavar="PARAMS.npz", help="save the fitted parameters (.npz is added; "
                   "default: print them only)")
    p.set_defaults(run=run_fit)  # gradc.cli.main calls args.run(args)
    return p


def run_fit(args, out=None):
    """Runs `gradc fit`; returns 0, or 1 when the run diverged (the last finite params are still saved)."""
    out = out or sys.stdout
    lr = parse_schedule(args.lr) if args.lr is not None else None
    output, plot = _outputs(args)  # before training: a bad path must not cost the whole run
    fn, params, data = _prepare(args, out)
    with _cluster(args, data):
        result = minimize(fn, params, data, method=args.method, lr=lr, batch_size=args.batch_size,
                          epochs=args.epochs, max_iter=args.max_iter, tol=args.tol, gtol=args.gtol, seed=args.seed)
    _report(result, out)
    if output:
        save_npz(output, result.params)
        print(f"saved {', '.join(result.params)} to {output}", file=out)
    if plot:
        print(f"saved the loss curve to {result.plot(plot)}", file=out)
    return 1 if result.diverged else 0


def _cluster(args, data):
    """The Dask cluster the data directory needs (--workers or --scheduler), or none for data in memory."""
    if args.workers is None and args.scheduler is None:
        lazy = [name for name, array in data.items() if is_dask(array)]
        if lazy:
            raise FitError(f"--data directories are read on a Dask cluster ({', '.join(lazy)}): give --workers N "
                           "(a local one) or --scheduler ADDRESS")
        return contextlib.nullcontext()
    return connect(workers=args.workers, scheduler=args.scheduler)


def _outputs(args):
    """The paths -o and --plot will write (None where not given), checked against the input files."""
    inits = parse_pairs(args.init, "--init", "NAME=VALUE (e.g. w=normal)")
    inputs = [source_file(args.source), *args.data, *(value for value in inits.values() if value.endswith(".npy"))]
    output = npz_path(args.output) if args.output else None
    plot = plot_path(args.plot) if args.plot else None
    if output:
        check_output(output, "-o", inputs)
    if plot:  # its suffix is never .npz, so it cannot be the -o file
        _check_plotting(plot)
        check_output(plot, "--plot", inputs)
    return output, plot


def _check_plotting(path):
    """--plot needs matplotlib, and a format it writes."""
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise FitError("--plot needs matplotlib: pip install 'gradc[plot]'") from None
    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = os.path.splitext(path)[1][1:].lower()
    if suffix not in formats:
        raise FitError(f"--plot {path}: matplotlib cannot write .{suffix} files (it writes "
                       f"{', '.join(sorted(formats))})")


def save_npz(path, arrays):
    """Writes `arrays` to the .npz file `path` under their own names, whatever those are.

    np.savez takes the names as keyword arguments, so a parameter called `file` collides with its first
    argument and one called `allow_pickle` is taken as its option; this writes the same archive (one .npy
    member per array) without that detour.
    """
    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(value), allow_pickle=False)


def _prepare(args, out):
    """Compiles the source with the parameters as wrt and builds (fn, initial params, data)."""
    source = read_source(args.source)
    data = _used_data(source, _load_data(args.data), out)
    shapes, sizes = _shapes(args.shape, data)
    inits = parse_pairs(args.init, "--init", "NAME=VALUE (e.g. w=normal)")
    for name, value in inits.items():  # an --init array declares its parameter's shape
        if name not in shapes and value.endswith(".npy"):
            shapes[name] = load_npy(value).shape
        elif name not in shapes and ("," in value or ";" in value):
            shapes[name] = _init_values(name, value).shape
    probe = _probe(source, shapes, data, out)
    inputs = probe.inputs
    _check_names(inputs, data, inits, shapes)
    declared = _declared_shapes(probe, shapes)
    _bind(sizes, declared, data)
    wrt = tuple(name for name in inputs if name not in data)
    if not wrt:
        raise FitError("every input is in the data: there is nothing to fit")
    rng = np.random.default_rng(args.seed)
    params = {name: _initial(name, inits.get(name, "zeros"), _resolve(name, declared[name], sizes), rng)
              for name in wrt}
    data = {name: array for name, array in data.items() if name in inputs}
    return _compile(source, wrt, shapes), params, data


def _used_data(source, data, out):
    """The data arrays the source reads; a data file may hold others (a test split), which are skipped, said."""
    names = source.parameters if isinstance(source, Function) else input_names(source)
    unused = [name for name in data if name not in names]
    if unused and names:
        print(f"skipping data {', '.join(unused)}: the source does not use {'it' if len(unused) == 1 else 'them'}",
              file=out)
        return {name: array for name, array in data.items() if name in names}
    return data


def _probe(source, shapes, data, out):
    """The source compiled with every parameter as wrt; a parameter given no shape that cannot be a scalar is
    given the smallest shape built from the data's dimensions that compiles (`w` of `X @ w` gets X's columns)."""
    try:
        return _compile(source, None, shapes)
    except ShapeError as error:
        names = source.parameters if isinstance(source, Function) else input_names(source)
        free = [name for name in names if name not in shapes and name not in data]
        found = _infer_shapes(source, shapes, free, data) if free else None
        if found is None:
            raise error from None
        said = ", ".join(f"{name} {show(dims)}" if dims else f"{name} scalar" for name, dims in found.items())
        print(f"inferred from the data: {said}; give --shape to choose another", file=out)
        shapes.update(found)
        return _compile(source, None, shapes)


MAX_SHAPE_TRIES = 400  # compiles tried while inferring parameter shapes, ~1 ms each


def _infer_shapes(source, shapes, free, data):
    """The first assignment of shapes to the `free` parameters, by total rank, then in order, under which the
    source compiles; each shape is (), (a,) or (a, b) with a, b among the data arrays' dimensions."""
    dims = list(dict.fromkeys(d for name in data for d in shapes[name]))
    options = [()] + [(a,) for a in dims] + [(a, b) for a in dims for b in dims]
    choices = sorted(itertools.product(options, repeat=len(free)), key=lambda c: sum(len(s) for s in c))
    for choice in choices[:MAX_SHAPE_TRIES]:
        try:
            compile(source, shapes={**shapes, **dict(zip(free, choice))})
        except ShapeError:
            continue
        return dict(zip(free, choice))
    return None


def _declared_shapes(fn, shapes):
    """Every input's dims, including those the source declares itself (`w: (d,)`)."""
    # NOTE: reads the parsed graph, which CompiledFunction keeps in `stages`; the --shape dims otherwise.
    graph = getattr(getattr(fn, "stages", None), "parsed", None)
    if graph is None:
        return {name: shapes.get(name, ()) for name in fn.inputs}
    return {name: tuple(graph.shape(node)) for name, node in graph.inputs.items()}


def _bind(sizes, declared, data):
    """Learns the size of each named dim from the data arrays it describes."""
    for name, array in data.items():
        for dim, size in zip(declared.get(name, ()), array.shape):
            if isinstance(dim, str) and sizes.setdefault(dim, size) != size:
                raise FitError(f"dimension {dim} is {sizes[dim]}, but {name} has {size} there "
                               f"(shape {array.shape})")


def _compile(source, wrt, shapes):
    try:
        return compile(source, wrt=wrt, shapes=shapes)
    except ShapeError as error:
        # The compiler cannot know that fit treats inputs it was given no shape for as scalars.
        hint = "; gradc fit takes shapes from --shape, --data arrays and --init FILE.npy, else scalars"
        hinted = ShapeError(error.message + hint, error.source, error.line, error.column)
        hinted.filename = error.filename  # set where the source is a file.py:function
        raise hinted from None


def _report(result, out):
    loss = f"{result.loss:.6g}" if result.loss is not None else "none"
    print(f"{result.status}: {result.reason}", file=out)
    print(f"{result.n_iter} updates, final loss {loss}", file=out)
    for name, value in result.params.items():
        shown = np.array2string(np.asarray(value), precision=6, threshold=10)
        print(f"  {name} {np.shape(value)} = {shown}", file=out)


def _load_data(paths):
    data = {}
    for path in paths:
        arrays = open_data(path) if is_store(path) else load_npz(path, "data file")
        twice = sorted(set(arrays) & set(data))
        if twice:
            raise FitError(f"{', '.join(twice)} given by more than one --data file")
        data.update(arrays)
    return data


def _shapes(items, data):
    """--shape entries and data arrays -> ({name: dims}, {dim name: size bound by the data})."""
    shapes = parse_shapes(items)
    shapes.update(_data_shapes(data, shapes))
    sizes = {}
    for name, array in data.items():
        if len(shapes[name]) != array.ndim:
            raise FitError(f"--shape gives {name} {len(shapes[name])} dims, but the data has shape {array.shape}")
        for dim, size in zip(shapes[name], array.shape):
            expected = sizes.setdefault(dim, size) if isinstance(dim, str) else dim
            if expected != size:
                raise FitError(f"dimension {dim} is {expected}, but {name} has {size} there (shape {array.shape})")
    return shapes, sizes


def _data_shapes(data, shapes):
    """Shapes for the data arrays given no --shape: their own, but with the rows named.

    The rows must stay a named dimension: a minibatch has fewer of them than the whole data set.
    They take the name the user gave the rows of another data array, or "n".
    """
    named = [shapes[name][0] for name in data if name in shapes and shapes[name]]
    rows = next((dim for dim in named if isinstance(dim, str)), "n")
    lengths = {array.shape[0] for array in data.values() if array.ndim}
    share_rows = len(lengths) == 1  # otherwise the first axes are not rows of one table
    return {name: ((rows,) + array.shape[1:] if share_rows and array.ndim else array.shape)
            for name, array in data.items() if name not in shapes}


def _resolve(name, shape, sizes):
    unknown = [d for d in shape if isinstance(d, str) and d not in sizes]
    if unknown:
        raise FitError(f"cannot tell the size of {', '.join(unknown)} in the shape of {name}: "
                       "no --data array has that dimension; give a number in --shape")
    return tuple(sizes[d] if isinstance(d, str) else d for d in shape)


def _initial(name, value, shape, rng):
    """Parameter `name`'s initial value from its --init spelling."""
    kind, colon, std = value.partition(":")
    if value == "zeros":
        return np.zeros(shape)
    if kind == "normal":
        scale = _init_number(name, value, std) if colon else DEFAULT_STD
        if scale < 0:
            raise FitError(f"--init {name}={value}: the standard deviation must be >= 0")
        return scale * rng.standard_normal(shape)
    if value.endswith(".npy") or "," in value or ";" in value:
        array = load_npy(value) if value.endswith(".npy") else _init_values(name, value)
        if array.shape != shape:
            raise FitError(f"--init {name}: {value} has shape {array.shape}, expected {shape}")
        return array.astype(np.float64)
    return np.full(shape, _init_number(name, value, value))


def _init_values(name, value):
    """`--init w=1,2,3` (or a matrix 1,2;3,4): the values as --at reads them, each finite."""
    try:
        array = np.asarray(parse_value(value), dtype=float)
    except ValueError:
        raise FitError(f"--init {name}={value}: {INIT_FORMS}") from None
    if not np.all(np.isfinite(array)):
        raise FitError(f"--init {name}={value}: the value must be finite")
    return array


def _init_number(name, value, text):
    try:
        result = float(text)
    except ValueError:
        raise FitError(f"--init {name}={value}: {INIT_FORMS}") from None
    if not math.isfinite(result):
        raise FitError(f"--init {name}={value}: the value must be finite")
    return result


def _check_names(inputs, data, inits, shapes):
    stray = [n for n in data if n not in inputs]
    if stray:
        raise FitError(f"data array {', '.join(stray)} is not an input of the source (inputs: {', '.join(inputs)})")
    for label, names in (("--init", inits), ("--shape", shapes)):
        stray = [n for n in names if n not in inputs]
        if stray:
            raise FitError(f"{label} names {', '.join(stray)}, which the source does not use "
                           f"(inputs: {', '.join(inputs)})")
    given_both = [n for n in inits if n in data]
    if given_both:
        raise FitError(f"{', '.join(given_both)} is data, so it cannot have an --init")
