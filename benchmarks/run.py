"""gradc against the field: value-and-gradient time per call, compile time, peak memory.

    python benchmarks/run.py                  # everything (a few minutes on 2 cores)
    python benchmarks/run.py --quick          # smallest size of each workload, short timings
    python benchmarks/run.py --only logistic  # one workload (comma-separate several)
    python benchmarks/run.py --markdown benchmarks/RESULTS.md

Every row checks that all implementations agree (value and every gradient, allclose) before timing any of
them; a disagreeing one is reported as MISMATCH and not timed. Missing tools are "not installed".
See benchmarks/README.md for how to read the tables.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # gradc from a checkout, if not installed

import compile_bench  # noqa: E402
import competitors as C  # noqa: E402
import memory  # noqa: E402
import report  # noqa: E402
import timing  # noqa: E402
from workloads import ALL  # noqa: E402

RTOL, ATOL = 1e-6, 1e-9


def _short(e):
    text = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {text[:100]}"


def _agree(ref, got):
    """None when (value, grads) match the reference, else what differs."""
    (v0, g0), (v1, g1) = ref, got
    if not np.allclose(v1, v0, rtol=RTOL, atol=ATOL * max(1.0, abs(v0))):
        return f"value {v1!r} != {v0!r}"
    for k, a in g0.items():
        b = np.asarray(g1.get(k) if isinstance(g1, dict) else None, dtype=float)
        scale = max(1.0, float(np.max(np.abs(a))) if np.size(a) else 1.0)
        if b.shape != np.shape(a) or not np.allclose(b, a, rtol=RTOL, atol=ATOL * scale):
            return f"grad {k} differs (shape {b.shape} vs {np.shape(a)})"
    return None


def build_impls(workload, arrays, fn, status):
    """Every implementation that can run for this row; reasons for the others go into `status`."""
    impls = [C.hand(workload, arrays), C.hand_forward(workload, arrays)]
    if isinstance(fn, Exception):
        for name in ("gradc", "gradc api", "gradc fwd"):
            status[name] = "unavailable"
    else:
        for builder in (C.gradc_direct, C.gradc_api, C.gradc_forward):
            impls.append(builder(workload, arrays, fn))
    for name, builder in C.COMPETITORS.items():
        try:
            impls.append(builder(workload, arrays))
        except C.Unavailable:
            status[name] = "not installed"
        except Exception as e:  # noqa: BLE001 - one tool's failure must not stop the run
            status[name] = "error: " + _short(e)
    return impls


def check(workload, arrays, impls, status):
    """Keep the implementations whose results equal the hand-written one; mark the rest."""
    snapshot = {k: np.copy(a) for k, a in arrays.items()}
    ref = C.hand(workload, arrays).result()
    ref_fwd = workload.hand_fwd(*arrays.values())
    kept = []
    for impl in impls:
        try:
            if impl.result is not None:
                v, g = impl.result()
                why = _agree(ref, (v, g))
            else:
                v = impl.call()
                why = _agree((ref_fwd, {}), (v, {}))
        except Exception as e:  # noqa: BLE001
            status[impl.name] = "error: " + _short(e)
            continue
        if why:
            status[impl.name] = "MISMATCH: " + why
        else:
            kept.append(impl)
    for k, a in arrays.items():
        if not np.array_equal(np.asarray(a), snapshot[k]):
            raise RuntimeError(f"an implementation mutated input {k} of {workload.name}")
    return kept


def wait_for_quiet(max_wait_s, threshold=0.15):
    """Wait (up to `max_wait_s`) until other processes use under `threshold` of the CPUs over a second."""
    deadline = time.perf_counter() + max_wait_s
    while True:
        meter = timing.LoadMeter()
        time.sleep(1.0)
        other = meter.other_fraction()
        if other is None or other < threshold or time.perf_counter() > deadline:
            return other


def bench_row(workload, dims, fn, budget_s, quiet_s=0.0):
    arrays = workload.data(dims)
    status = {}
    impls = check(workload, arrays, build_impls(workload, arrays, fn, status), status)
    if quiet_s:
        wait_for_quiet(quiet_s)
    meter = timing.LoadMeter()
    if budget_s <= 0:  # --check-only
        times, rounds = {i.name: None for i in impls}, 0
        print(f"  {workload.label(dims):<28} agree: {', '.join(times)}"
              + (f"  [{'; '.join(f'{k}: {v}' for k, v in status.items())}]" if status else ""), flush=True)
        return {"label": workload.label(dims), "times": times, "status": status}
    times, rounds = timing.round_robin({i.name: i.call for i in impls}, {i.name: i.family for i in impls},
                                       budget_s=budget_s)
    other = meter.other_fraction()
    row = {"label": workload.label(dims), "workload": workload.name, "dims": dims,
           "times": times, "status": status, "rounds": rounds, "other_load": other}
    print(f"  {row['label']:<28} " + "  ".join(f"{k}={report.fmt_time(t)}" for k, t in times.items())
          + ("" if other is None else f"  (other load {other:.0%})")
          + ("  [" + "; ".join(f"{k}: {v}" for k, v in status.items()) + "]" if status else ""), flush=True)
    return row


def compile_workload(workload):
    try:
        return C.gradc_compile(workload)
    except Exception as e:  # noqa: BLE001 - reported in the row
        return e


def machine():
    info = {"platform": platform.platform()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in lscpu.splitlines():
            key, _, val = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core"):
                info[key.strip()] = val.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    info["cores visible"] = os.cpu_count()
    info["threads per runtime"] = os.environ.get("GRADC_BENCH_THREADS", "library defaults")
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["NumPy BLAS"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 - older NumPy: no dict mode
        info["NumPy BLAS"] = "unknown (see np.show_config())"
    return info


def selected(only):
    if not only:
        return list(ALL)
    names = {n.strip() for n in only.split(",")}
    unknown = names - {w.name for w in ALL} - {"scaling"}
    if unknown:
        sys.exit(f"run.py: unknown workload(s) {sorted(unknown)}; choose from "
                 f"{[w.name for w in ALL] + ['scaling']}")
    return [w for w in ALL if w.name in names]


def run_timings(workloads, quick, budget_s, quiet_s):
    print("value-and-gradient, median time per call (round-robin):", flush=True)
    rows = []
    for w in workloads:
        fn = compile_workload(w)
        if isinstance(fn, Exception):
            print(f"  gradc cannot compile {w.name}: {_short(fn)}", flush=True)
        for dims in (w.sizes[:1] if quick else w.sizes):
            rows.append(bench_row(w, dims, fn, budget_s, quiet_s))
    return rows


def run_compile(workloads, scaling_sizes):
    print("compile times...", flush=True)
    wrows = []
    for w in workloads:
        row = {"label": w.name}
        try:
            row.update(compile_bench.time_compile(w.source, list(w.wrt), w.shapes))
        except Exception as e:  # noqa: BLE001
            row["error"] = _short(e)
        wrows.append(row)
    return wrows, compile_bench.scaling(scaling_sizes) if scaling_sizes else []


def run_memory(workloads, quick):
    print("peak memory...", flush=True)
    rows = []
    for w in workloads:
        if w.name == "circuit":
            continue
        dims = w.sizes[0] if quick else w.sizes[-1]
        fn = compile_workload(w)
        arrays = w.data(dims)
        impls = [C.hand(w, arrays)]
        if not isinstance(fn, Exception):
            impls.append(C.gradc_direct(w, arrays, fn))
        rows.append({"label": w.label(dims), "peaks": memory.compare(impls)})
    return rows


def render(results):
    parts = ["## Machine", report.header(results["machine"], results["versions"]),
             "## Value and gradient, median time per call (ratio to hand-written NumPy)",
             report.gradient_table(results["timings"]),
             "## The array-api module on PyTorch tensors and under jax.jit (against their own autodiff)",
             report.array_api_table(results["timings"]),
             "## Forward pass alone", report.forward_table(results["timings"]),
             "## The sentence these timings support (the README's performance claims quote it)",
             report.claim(results["machine"], results["timings"])]
    if results.get("compile") is not None:
        parts += ["## Compile time", report.compile_table(*results["compile"])]
    if results.get("memory") is not None:
        parts += ["## Peak memory of one value-and-gradient call (tracemalloc)",
                  report.memory_table(results["memory"])]
    return "\n\n".join(parts) + "\n"


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pin_threads(n):
    """Re-run this script with every runtime's thread pool at `n` threads (must precede their import)."""
    if os.environ.get("GRADC_BENCH_THREADS") == str(n):
        return
    env = {**os.environ, "GRADC_BENCH_THREADS": str(n), **{v: str(n) for v in THREAD_VARS}}
    if n == 1:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
                            " intra_op_parallelism_threads=1").strip()
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, metavar="N",
                    help="run every runtime (OpenBLAS, PyTorch, XLA) with N threads; 1 is robust to "
                    "other load on a shared machine")
    ap.add_argument("--quick", action="store_true", help="smallest sizes only, short timings")
    ap.add_argument("--only", metavar="NAME", help="workload name(s), comma-separated; 'scaling' for "
                    "the generated-expression compile times")
    ap.add_argument("--budget", type=float, default=None, help="seconds of timing per row")
    ap.add_argument("--check-only", action="store_true",
                    help="only check that all implementations agree, at every size; no timing")
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                    help="before each row, wait up to SECONDS for other processes to go quiet")
    ap.add_argument("--markdown", metavar="PATH", help="also write the tables as Markdown")
    ap.add_argument("--json", metavar="PATH", help="also write the raw numbers as JSON")
    args = ap.parse_args(argv)
    if args.threads:
        pin_threads(args.threads)
    workloads = selected(args.only)
    if args.check_only:
        run_timings(workloads, args.quick, 0, 0)
        return
    budget = args.budget or (1.5 if args.quick else 6.0)
    scaling_sizes = ((100, 1_000) if args.quick else (100, 1_000, 10_000)) \
        if not args.only or "scaling" in args.only else ()
    started, load = time.perf_counter(), timing.LoadMeter()
    results = {"machine": machine(), "versions": C.versions(),
               "timings": run_timings(workloads, args.quick, budget, args.wait_quiet)}
    other = load.other_fraction()
    results["machine"]["other load during timings"] = "unknown" if other is None else f"{other:.0%} of the CPUs"
    if other is not None and other > 0.1:
        print(f"WARNING: other processes used {other:.0%} of the CPUs while timing; the numbers are "
              "inflated and noisy. Run again on a quiet machine.", file=sys.stderr)
    for section, fn in (("compile", lambda: run_compile(workloads, scaling_sizes)),
                        ("memory", lambda: run_memory(workloads, args.quick))):
        try:
            results[section] = fn()
        except Exception:  # noqa: BLE001 - keep the timing results
            traceback.print_exc()
            results[section] = None
    text = render(results)
    print("\n" + text + f"\n(total {time.perf_counter() - started:.0f} s)")

    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
