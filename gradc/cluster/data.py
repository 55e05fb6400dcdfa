"""Data on disk as lazy Dask arrays, one per input, read chunk by chunk where the work runs (`gradc fit --data`).

Two layouts: a Zarr store holding one array per input (`train.zarr/X`, `train.zarr/y`), or a directory holding
one folder of .npy chunks per input (`train/X/000.npy, 001.npy, ...`), concatenated along their first axis in
file-name order. Only the headers are read here; each chunk is loaded by the task that needs it.
"""
import os

import numpy as np

from gradc.errors import GradcError


class DataError(GradcError):
    """A data directory or store that cannot be read as arrays."""


def is_store(path):
    """A directory to read lazily (a Zarr store or folders of .npy chunks), rather than an .npz file."""
    return os.path.isdir(path)


def open_data(path):
    """{name: dask array} from the Zarr store or .npy chunk directory at `path`."""
    if not os.path.isdir(path):
        raise DataError(f"--data {path}: not a directory (a Zarr store or one folder of .npy chunks per input)")
    markers = ("zarr.json", ".zgroup", ".zarray")
    if any(os.path.exists(os.path.join(path, marker)) for marker in markers):
        return _open_zarr(path)
    return _open_npy_chunks(path)


def _open_zarr(path):
    import dask.array as da
    try:
        import zarr
    except ImportError:
        raise DataError(f"--data {path} is a Zarr store: reading it needs zarr (pip install 'gradc[dask]')") from None
    group = zarr.open_group(path, mode="r")
    names = sorted(name for name, _ in group.arrays())
    if not names:
        raise DataError(f"--data {path}: the Zarr store holds no arrays")
    return {name: da.from_zarr(path, component=name) for name in names}


def _open_npy_chunks(path):
    import dask
    import dask.array as da
    folders = sorted(entry for entry in os.listdir(path) if os.path.isdir(os.path.join(path, entry)))
    arrays = {}
    for name in folders:
        files = sorted(file for file in os.listdir(os.path.join(path, name)) if file.endswith(".npy"))
        if not files:
            continue
        parts = []
        for file in files:
            full = os.path.join(path, name, file)
            shape, dtype = _header(full)
            if parts and (shape[1:] != parts[0].shape[1:] or dtype != parts[0].dtype):
                raise DataError(f"--data {path}: {name}/{file} has shape {shape} and dtype {dtype}, but "
                                f"{name}/{files[0]} has {parts[0].shape} and {parts[0].dtype}")
            parts.append(da.from_delayed(dask.delayed(np.load, pure=True)(full), shape, dtype))
        arrays[name] = da.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
    if not arrays:
        raise DataError(f"--data {path}: no folder of .npy chunks in it (e.g. {path}/X/000.npy), and no Zarr store")
    return arrays


def _header(file):
    """The shape and dtype of an .npy file, from its header alone."""
    try:
        with open(file, "rb") as handle:
            major, _ = np.lib.format.read_magic(handle)
            read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(handle)
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read {file} as an .npy file: {error}") from None
    if not shape:
        raise DataError(f"{file} holds a scalar: a chunk has rows")
    return shape, dtype
