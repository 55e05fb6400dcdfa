"""Gradients and fits on a real Dask cluster (a LocalCluster of 2 worker processes, 1 GiB each) equal NumPy's,
the data stays on the workers, a killed worker costs nothing but time, and bad input is refused before any work."""
import os
import signal
import threading
import time

import numpy as np
import pytest

import gradc
from gradc.cluster.chunks import ChunkError
from gradc.cluster.client import connect
from gradc.cluster.gradients import ClusterError
from gradc.cluster.separability import SeparabilityError
from gradc.errors import ShapeError

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

N, D, K, H, CHUNK = 600, 4, 3, 5, 150
SHAPES = {"X": ("n", "d"), "y": ("n",), "w": ("d",), "W": ("d", "k"), "Y": ("n", "k"), "W1": ("d", "h"),
          "b1": ("h",), "W2": ("h", "k")}
LOSSES = {
    "least squares": "mean((X@w - y)**2)",
    "logistic": "mean(log(1 + exp(-y * (X@w))))",
    "softmax regression": "mean(logsumexp(X@W, axis=1) - sum(Y * (X@W), axis=1))",
    "two-layer net": "mean(logsumexp(tanh(X@W1 + b1)@W2, axis=1) - sum(Y * (tanh(X@W1 + b1)@W2), axis=1))",
    "ridge": "mean((X@w - y)**2) + 0.1 * sum(w**2)",
    "square of a sum": "sum(X@w)**2",
    "mean with its count": "sum(X@w - y) / sum(y**0)",
    "two sums": "log(sum(exp(X@w))) - mean(y * (X@w))",
    "a parameter after the sums": "c * sum(X@w)**2 + c**2",  # c is read by F alone, w by the rows alone
}
PARAMS = ("w", "W", "W1", "b1", "W2", "c")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))
    arrays = {"X": X, "y": np.sign(X @ rng.normal(size=D) + 0.3 * rng.normal(size=N)),
              "Y": np.eye(K)[rng.integers(0, K, size=N)]}
    params = {"w": 0.3 * rng.normal(size=D), "W": 0.3 * rng.normal(size=(D, K)), "W1": 0.3 * rng.normal(size=(D, H)),
              "b1": 0.1 * rng.normal(size=H), "W2": 0.3 * rng.normal(size=(H, K)), "c": 0.7}
    return arrays, params


def on_cluster(client, arrays, chunk=CHUNK):
    """The arrays as row-chunked Dask arrays held on the workers."""
    lazy = {name: da.from_array(value, chunks=(chunk,) + value.shape[1:]) for name, value in arrays.items()}
    return dict(zip(lazy, client.persist(list(lazy.values()))))


def compiled(source):
    inputs = gradc.compile(source, shapes=SHAPES, strict=False).inputs
    return gradc.compile(source, shapes=SHAPES, wrt=[name for name in inputs if name in PARAMS], strict=False)


def relative(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / max(np.max(np.abs(np.asarray(b))), 1e-300)


@pytest.mark.parametrize("name", LOSSES)
def test_gradients_on_the_cluster_equal_numpys(client, data, name):
    arrays, params = data
    fn = compiled(LOSSES[name])
    ours = {name: value for name, value in {**arrays, **params}.items() if name in fn.inputs}
    value, grads = fn.value_and_grad(**ours)
    lazy = on_cluster(client, {name: arrays[name] for name in fn.inputs if name in arrays}, chunk=140)  # uneven last
    value_c, grads_c = fn.value_and_grad(**{**ours, **lazy})
    assert abs(value_c - value) <= 1e-10 * abs(value)
    assert set(grads_c) == set(grads) == set(fn.wrt)
    for param in fn.wrt:
        assert relative(grads_c[param], grads[param]) < 1e-10, param
    assert fn.grad(**{**ours, **lazy}).keys() == grads.keys()


@pytest.mark.parametrize("name", ["least squares", "ridge", "square of a sum", "two sums",
                                  "a parameter after the sums"])
def test_hessians_on_the_cluster_equal_numpys(client, data, name):
    """Summed per chunk for a mean; for a function of sums, through the sums' Jacobians and F's Hessian."""
    arrays, params = data
    fn = compiled(LOSSES[name])
    ours = {name: value for name, value in {**arrays, **params}.items() if name in fn.inputs}
    lazy = on_cluster(client, {name: arrays[name] for name in fn.inputs if name in arrays})
    expected, got = fn.hessian(**ours), fn.hessian(**{**ours, **lazy})
    for a in fn.wrt:
        for b in fn.wrt:
            assert relative(got[a][b], expected[a][b]) < 1e-10, (a, b)


def test_newton_on_a_function_of_sums(client, data):
    arrays, params = data
    fn = compiled(LOSSES["ridge"])
    memory = gradc.minimize(fn, {"w": params["w"]}, {"X": arrays["X"], "y": arrays["y"]}, method="newton",
                            max_iter=3)
    cluster = gradc.minimize(fn, {"w": params["w"]}, on_cluster(client, {"X": arrays["X"], "y": arrays["y"]}),
                             method="newton", max_iter=3)
    assert cluster.status == memory.status and relative(cluster.params["w"], memory.params["w"]) < 1e-10


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov", "adam", "newton"])
def test_a_fit_on_the_cluster_equals_the_fit_in_memory(client, data, method):
    arrays, params = data
    fn = compiled(LOSSES["logistic"])
    kwargs = dict(method=method, max_iter=8, lr=None if method == "newton" else 0.5)
    memory = gradc.minimize(fn, {"w": params["w"]}, {"X": arrays["X"], "y": arrays["y"]}, **kwargs)
    lazy = on_cluster(client, {"X": arrays["X"], "y": arrays["y"]})
    cluster = gradc.minimize(fn, {"w": params["w"]}, lazy, **kwargs)
    assert cluster.n_iter == memory.n_iter == 8
    assert relative(cluster.params["w"], memory.params["w"]) < 1e-10
    assert np.allclose(cluster.loss_history, memory.loss_history, rtol=1e-12, atol=0)


def test_minibatches_draw_whole_chunks_and_the_loss_falls(client, data):
    arrays, params = data
    fn = compiled(LOSSES["least squares"])
    lazy = on_cluster(client, {"X": arrays["X"], "y": arrays["y"]})
    seen = []
    result = gradc.minimize(fn, {"w": np.zeros(D)}, lazy, batch_size=2 * CHUNK, epochs=3, seed=1, lr=0.1,
                            callback=lambda step: seen.append(step.epoch) and False)
    assert result.n_iter == 6 and seen == [0, 0, 1, 1, 2, 2]  # 4 chunks, 2 per batch
    assert result.epoch_loss[-1] < result.epoch_loss[0]


def test_divergence_on_the_cluster_keeps_the_last_finite_params(client, data):
    arrays, _ = data
    fn = compiled(LOSSES["least squares"])
    lazy = on_cluster(client, {"X": arrays["X"], "y": arrays["y"]})
    result = gradc.minimize(fn, {"w": np.zeros(D)}, lazy, lr=1e6, max_iter=200)
    assert result.diverged and all(np.all(np.isfinite(v)) for v in result.params.values())


def test_the_data_never_comes_to_the_client(client, monkeypatch):
    """200 MB generated on the workers: the client's memory stays flat, and no Dask array is ever computed
    or converted there."""
    n, d = 1_250_000, 20
    X = da.random.RandomState(0).normal(size=(n, d), chunks=(125_000, d))
    y = da.random.RandomState(1).normal(size=(n,), chunks=125_000)
    fn = compiled(LOSSES["least squares"])

    def refuse(*args, **kwargs):
        raise AssertionError("a Dask array was brought to the client")
    monkeypatch.setattr(da.Array, "__array__", refuse)
    monkeypatch.setattr(da.Array, "compute", refuse)
    psutil = pytest.importorskip("psutil")
    process, peak, done = psutil.Process(), [0], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.005)
    before = process.memory_info().rss
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        value, grads = fn.value_and_grad(X=X, y=y, w=np.ones(d))
    finally:
        done.set()
        watcher.join()
    assert np.isfinite(value) and grads["w"].shape == (d,)
    assert peak[0] - before < 60e6  # the data is 200 MB; its gradient 160 bytes


def test_a_killed_worker_costs_a_rerun_not_the_result(client, data):
    arrays, params = data
    fn = compiled(LOSSES["logistic"])
    memory = gradc.minimize(fn, {"w": params["w"]}, {"X": arrays["X"], "y": arrays["y"]}, max_iter=12, lr=0.5)
    lazy = on_cluster(client, {"X": arrays["X"], "y": arrays["y"]})
    pids = list(client.run(os.getpid).values())
    killed = []

    def kill_one(step):
        if step.t == 4:
            os.kill(pids[0], signal.SIGKILL)  # mid-fit: its chunks are lost and recomputed elsewhere
            killed.append(pids[0])
    cluster = gradc.minimize(fn, {"w": params["w"]}, lazy, max_iter=12, lr=0.5, callback=kill_one)
    assert killed and cluster.n_iter == 12
    assert relative(cluster.params["w"], memory.params["w"]) < 1e-10
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it, for the tests after this one


@pytest.fixture()
def least_squares(client, data):
    arrays, params = data
    return compiled(LOSSES["least squares"]), arrays, params


def test_chunks_along_a_non_separable_axis_are_refused(least_squares):
    fn, arrays, params = least_squares
    X = da.from_array(arrays["X"], chunks=(CHUNK, 2))
    with pytest.raises(ChunkError, match=r"X is chunked along axis 1.*rechunk\(\{1: -1\}\)"):
        fn.value_and_grad(X=X, y=da.from_array(arrays["y"], chunks=CHUNK), w=params["w"])


def test_uneven_or_misaligned_row_chunks_are_refused(least_squares):
    fn, arrays, params = least_squares
    X = da.from_array(arrays["X"], chunks=((100, 200, 300), (D,)))
    with pytest.raises(ChunkError, match="split n unevenly"):
        fn.value_and_grad(X=X, y=da.from_array(arrays["y"], chunks=((100, 200, 300),)), w=params["w"])
    with pytest.raises(ChunkError, match="chunked differently along n"):
        fn.value_and_grad(X=da.from_array(arrays["X"], chunks=(CHUNK, D)), y=da.from_array(arrays["y"], chunks=200),
                          w=params["w"])
    with pytest.raises(ChunkError, match="y is not a Dask array while X is"):
        fn.value_and_grad(X=da.from_array(arrays["X"], chunks=(CHUNK, D)), y=arrays["y"], w=params["w"])


def test_data_that_does_not_match_the_shapes_is_refused(least_squares):
    fn, arrays, params = least_squares
    with pytest.raises(ShapeError, match="y has shape"):
        fn.value_and_grad(X=da.from_array(arrays["X"], chunks=(CHUNK, D)),
                          y=da.from_array(arrays["y"][:-10], chunks=CHUNK), w=params["w"])
    with pytest.raises(ShapeError, match="w has shape"):
        fn.value_and_grad(X=da.from_array(arrays["X"], chunks=(CHUNK, D)),
                          y=da.from_array(arrays["y"], chunks=CHUNK), w=np.zeros(D + 1))


def test_a_coupled_loss_with_dask_data_names_the_term(client, data):
    arrays, _ = data
    fn = gradc.compile("sum((X@w - mean(X@w))**2)", shapes=SHAPES, wrt=["w"], strict=False)
    with pytest.raises(SeparabilityError, match=r"`mean\(X@w\)` is a reduction over n used again row by row"):
        fn.value_and_grad(X=da.from_array(arrays["X"], chunks=(CHUNK, D)), w=np.zeros(D))


def test_an_unreachable_scheduler_is_one_clear_error():
    started = time.perf_counter()
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        with connect(scheduler="tcp://127.0.0.1:9", timeout=1):
            pass
    assert time.perf_counter() - started < 15


def test_a_decorated_function_compiled_at_its_first_call_reads_dask_shapes_only(client, data, monkeypatch):
    arrays, params = data

    @gradc.gradient(wrt="w")
    def loss(X, y, w):
        return np.mean((X @ w - y) ** 2)
    lazy = on_cluster(client, {"X": arrays["X"], "y": arrays["y"]})
    monkeypatch.setattr(da.Array, "__array__", lambda *args, **kwargs: pytest.fail("the data came to the client"))
    value, grads = loss.value_and_grad(lazy["X"], lazy["y"], params["w"])
    expected = compiled(LOSSES["least squares"]).value_and_grad(X=arrays["X"], y=arrays["y"], w=params["w"])
    assert abs(value - expected[0]) <= 1e-10 * expected[0] and relative(grads["w"], expected[1]["w"]) < 1e-10
