"""`gradc fit --data DIR --workers N | --scheduler ADDRESS`: data on disk read lazily on a Dask cluster."""
import subprocess
import sys

import numpy as np
import pytest

from gradc.cli.main import main
from gradc.cluster.data import DataError, open_data

distributed = pytest.importorskip("distributed")

LOSS = "mean((X@w - y)**2)"
TRUE_W = np.array([1.0, -2.0, 0.5])


@pytest.fixture(scope="module")
def scheduler():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB",
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """X, y in memory, as .npy chunks (4 of 250 rows) and as an .npz file."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 3))
    y = X @ TRUE_W + 0.1 * rng.normal(size=1000)
    for name, array in (("X", X), ("y", y)):
        (folder / "chunks" / name).mkdir(parents=True)
        for k in range(4):
            np.save(folder / "chunks" / name / f"{k:03d}.npy", array[250 * k:250 * (k + 1)])
    np.savez(folder / "train.npz", X=X, y=y)
    return folder, X, y


def fitted(capsys, *argv):
    code = main(["fit", LOSS, "--lr", "0.1", "--max-iter", "40", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def weights(out):
    line = next(line for line in out.splitlines() if line.strip().startswith("w (3,)"))
    return np.array([float(v) for v in line.split("[")[1].split("]")[0].split()])


def test_npy_chunks_are_read_lazily_as_dask_arrays(table):
    folder, X, y = table
    arrays = open_data(folder / "chunks")
    assert type(arrays["X"]).__module__.startswith("dask") and arrays["X"].chunks == ((250,) * 4, (3,))
    assert np.array_equal(arrays["X"].compute(), X) and np.array_equal(arrays["y"].compute(), y)


def test_a_zarr_store_is_read_lazily(table, tmp_path):
    zarr = pytest.importorskip("zarr")
    _, X, y = table
    group = zarr.open_group(tmp_path / "train.zarr", mode="w")
    for name, array in (("X", X), ("y", y)):
        group.create_array(name, shape=array.shape, chunks=(250,) + array.shape[1:], dtype=array.dtype)[...] = array
    arrays = open_data(tmp_path / "train.zarr")
    assert arrays["X"].chunks == ((250,) * 4, (3,)) and np.array_equal(arrays["y"].compute(), y)


def test_fit_on_the_cluster_prints_what_the_fit_in_memory_prints(table, scheduler, capsys):
    folder, _, _ = table
    code, memory, _ = fitted(capsys, "--data", folder / "train.npz")
    code_c, cluster, _ = fitted(capsys, "--data", folder / "chunks", "--scheduler", scheduler)
    assert code == code_c == 0
    assert cluster == memory  # the same updates, the same final loss and params to the digits printed
    assert np.allclose(weights(cluster), TRUE_W, atol=0.05)


def test_fit_with_local_workers_from_the_command_line(table):
    folder, _, _ = table
    run = subprocess.run([sys.executable, "-m", "gradc", "fit", LOSS, "--data", str(folder / "chunks"), "--workers",
                          "1", "--lr", "0.1", "--max-iter", "40"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert np.allclose(weights(run.stdout), TRUE_W, atol=0.05)


@pytest.mark.parametrize("argv, message", [
    (["--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
    ([], "--data directories are read on a Dask cluster (X, y): give --workers N"),
])
def test_cluster_errors_exit_2_with_one_line(table, capsys, monkeypatch, argv, message):
    monkeypatch.setattr("gradc.cluster.client.CONNECT_TIMEOUT", 1)
    folder, _, _ = table
    code, _, err = fitted(capsys, "--data", folder / "chunks", *argv)
    assert code == 2
    assert err.startswith("gradc: error: ") and message in err and err.count("\n") == 1


def test_a_coupled_loss_is_refused_before_any_work(table, scheduler, capsys):
    folder, _, _ = table
    code = main(["fit", "sum((X@w - mean(X@w))**2) + sum(y)", "--data", str(folder / "chunks"), "--scheduler",
                 scheduler, "--max-iter", "3"])
    err = capsys.readouterr().err
    assert code == 2 and "`mean(X@w)` is a reduction over n used again row by row" in err


def test_a_folder_without_chunks_is_refused(tmp_path):
    with pytest.raises(DataError, match="no folder of .npy chunks"):
        open_data(tmp_path)
