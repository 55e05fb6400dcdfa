"""Data-parallel logistic regression on a Dask cluster: data larger than a worker's memory limit, on disk.

    python benchmarks/cluster.py                       # ~3 GB of .npy chunks, 1 and 2 workers of 1 GiB each
    python benchmarks/cluster.py --gb 0.5 --steps 2    # smaller and quicker
    python benchmarks/cluster.py --model network --gb 1 # a loss bound by the CPU rather than memory bandwidth
    python benchmarks/cluster.py --markdown benchmarks/RESULTS.md   # appends the tables to the file

Writes X (n, 100) and y (n,) as 100 MB .npy chunks in a temporary folder (removed afterwards), then for each
cluster size times gradient steps of mean(log(1 + exp(-y * (X @ w)))) on the data read lazily by the workers
(`gradc.cluster.data.open_data`), and reports: time per step, the same step's compute in memory (one chunk timed
in this process, times the number of chunks), the cluster's per-step overhead on data persisted on the workers
against the same step in memory, each worker's peak memory, and the client's growth in memory over the steps
(the data never comes to it). `make bench-cluster` runs it; `make test` does not.
"""
import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
import warnings

import numpy as np

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # gradc from a checkout

import gradc  # noqa: E402
from gradc.cluster.data import open_data  # noqa: E402

# The models: (loss, shapes of the parameters). Logistic regression makes one pass over each chunk, so memory
# bandwidth bounds it; the network's matmuls make it bound by the CPU.
MODELS = {
    "logistic": ("mean(log(1 + exp(-y * (X @ w))))", {"w": ("d",)}),
    "network": ("mean(log(1 + exp(-y * (tanh(X @ W1) @ v))))", {"W1": ("d", 32), "v": (32,)}),
}
D, CHUNK_ROWS = 100, 125_000  # 100 MB chunks of float64 rows


def write_chunks(folder, gb, rng):
    """X, y as .npy chunks; returns the rows written."""
    chunks = max(2, round(gb * 1e9 / (CHUNK_ROWS * (D + 1) * 8)))
    truth = rng.normal(size=D)
    for name in ("X", "y"):
        os.makedirs(os.path.join(folder, name))
    for k in range(chunks):
        X = rng.normal(size=(CHUNK_ROWS, D))
        y = np.where(X @ truth + rng.normal(size=CHUNK_ROWS) > 0, 1.0, -1.0)
        np.save(os.path.join(folder, "X", f"{k:04d}.npy"), X)
        np.save(os.path.join(folder, "y", f"{k:04d}.npy"), y)
    return chunks * CHUNK_ROWS


def peak_rss():
    """This process's peak resident memory in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Watch:
    """Samples this process's resident memory while the block runs: the client's growth over the steps."""

    def __enter__(self):
        import psutil
        self.process, self.peak, self.done = psutil.Process(), 0, threading.Event()
        self.before = self.process.memory_info().rss
        self.thread = threading.Thread(target=self._sample)
        self.thread.start()
        return self

    def _sample(self):
        while not self.done.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        self.growth = self.peak - self.before


def steps(fn, arrays, w, count):
    """Seconds per value_and_grad after one warm-up step (which compiles and loads the kernels on the workers)."""
    fn.value_and_grad(**arrays, **w)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        fn.value_and_grad(**arrays, **w)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def in_memory_step(fn, folder, chunks, w, count):
    """One chunk's value_and_grad in this process, times the number of chunks: the step's compute alone."""
    X = np.load(os.path.join(folder, "X", "0000.npy"))
    y = np.load(os.path.join(folder, "y", "0000.npy"))
    fn.value_and_grad(X=X, y=y, **w)
    times = []
    for _ in range(count + 2):
        start = time.perf_counter()
        fn.value_and_grad(X=X, y=y, **w)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * chunks, (X, y)


def overhead(client, fn, X, y, w, count):
    """(cluster step, in-memory step) in seconds on one chunk persisted on the workers in 4 pieces."""
    import dask.array as da
    warnings.filterwarnings("ignore", message=".*large graph.*")  # the point: this chunk starts on the client
    lazy = client.persist([da.from_array(X, chunks=(len(X) // 4, D)), da.from_array(y, chunks=len(y) // 4)])
    on_cluster = steps(fn, {"X": lazy[0], "y": lazy[1]}, w, count)
    memory = steps(fn, {"X": X, "y": y}, w, count)
    del lazy
    return on_cluster, memory


def run(workers, folder, rows, chunks, fn, w, count, memory_step, sample):
    import distributed
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit="1GiB",
                                  dashboard_address=None, silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        data = open_data(folder)
        with Watch() as watch:
            step = steps(fn, data, w, count)
        cluster_small, memory_small = overhead(client, fn, *sample, w, count)
        peaks = client.run(peak_rss)
    return {"workers": workers, "step": step, "memory_step": memory_step, "small_cluster": cluster_small,
            "small_memory": memory_small, "worker_peaks": sorted(peaks.values()), "client_growth": watch.growth,
            "rows": rows, "chunks": chunks}


def table(results, gb, load, model):
    lines = [f"{model}: `{MODELS[model][0]}`", "", "| workers (1 GiB each) | data on disk | time per step | step's compute in memory (one process) | "
             "cluster overhead per step (125k rows persisted: cluster vs memory) | peak memory per worker | "
             "client's growth over the steps |", "|---|---|---|---|---|---|---|"]
    for r in results:
        peaks = ", ".join(f"{p / 2**20:.0f} MiB" for p in r["worker_peaks"])
        lines.append(f"| {r['workers']} | {gb:.1f} GB ({r['rows']:,} x {D} rows in {r['chunks']} chunks) | "
                     f"{r['step']:.2f} s | {r['memory_step']:.2f} s | "
                     f"{1000 * (r['small_cluster'] - r['small_memory']):.0f} ms ({1000 * r['small_cluster']:.0f} vs "
                     f"{1000 * r['small_memory']:.0f} ms) | {peaks} | {r['client_growth'] / 2**20:.0f} MiB |")
    lines.append("")
    lines.append(f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, numpy {np.__version__}; load average "
                 f"before the run {load[0]:.2f}, after it {load[1]:.2f}.")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=3.0, help="data size on disk (default 3)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per cluster size (default 3)")
    parser.add_argument("--workers", default="1,2", help="cluster sizes (default 1,2)")
    parser.add_argument("--model", default="logistic", choices=MODELS, help="the loss (default logistic)")
    parser.add_argument("--markdown", help="append the table to this file")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    loss, params = MODELS[args.model]
    fn = gradc.compile(loss, shapes={"X": ("n", "d"), "y": ("n",), **params}, wrt=list(params))
    w = {name: np.full(tuple(D if dim == "d" else dim for dim in dims), 0.01) for name, dims in params.items()}
    folder = tempfile.mkdtemp(prefix="gradc-cluster-bench-")
    try:
        started = time.perf_counter()
        rows = write_chunks(folder, args.gb, np.random.default_rng(0))
        chunks = rows // CHUNK_ROWS
        print(f"wrote {rows:,} rows in {chunks} chunks to {folder} in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
        memory_step, sample = in_memory_step(fn, folder, chunks, w, args.steps)
        results = []
        for workers in (int(k) for k in args.workers.split(",")):
            results.append(run(workers, folder, rows, chunks, fn, w, args.steps, memory_step, sample))
            print(f"{workers} worker(s): {results[-1]['step']:.2f} s per step", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    text = table(results, rows * (D + 1) * 8 / 1e9, (load, os.getloadavg()[0]), args.model)
    print(text)
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as file:
            file.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
