"""Per-line profile of generated (or hand-written) value-and-gradient code.

    python benchmarks/profile_lines.py logistic              # largest size
    python benchmarks/profile_lines.py two_layer --size 0    # smallest size
    python benchmarks/profile_lines.py softmax --hand        # the hand-written function instead

Generated code is straight-line, so a line profile needs no external tool: each top-level statement of
the function is followed by a clock reading (inserted in its AST), and the module is executed from that.
Per line it prints the median time per call, its share, the minor page faults it caused (fresh
temporaries fault in their pages: ~1.5 us per 4 KiB page on a VM) and the bytes of what it assigned.
"""
import argparse
import ast
import inspect
import os
import resource
import statistics
import sys
import textwrap
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # gradc from a checkout, if not installed

import competitors as C  # noqa: E402
from workloads import ALL  # noqa: E402

_PROBE = "_T[{i}] += _pc() - _t0; _F[{i}] += _fl() - _f0; _B[{i}] = _nb({target}); _t0 = _pc(); _f0 = _fl()"


def _faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _nbytes(value):
    return getattr(value, "nbytes", 0)


def instrument(source, func_name):
    """The module source with `func_name` probed after every statement; returns (code, statements)."""
    tree = ast.parse(source)
    func = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == func_name)
    stmts, body, returns = [], [*ast.parse("_t0 = _pc(); _f0 = _fl()").body], False
    for i, stmt in enumerate(func.body):
        if isinstance(stmt, ast.Expr) and isinstance(getattr(stmt, "value", None), ast.Constant):
            continue  # docstring
        stmts.append(ast.get_source_segment(source, stmt) or ast.unparse(stmt))
        target = "None"
        if isinstance(stmt, ast.Return):
            stmt = ast.Assign(targets=[ast.Name("_ret", ast.Store())], value=stmt.value)
            target, returns = "_ret[0] if isinstance(_ret, tuple) else _ret", True
        elif isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            target = stmt.targets[0].id
        body += [stmt, *ast.parse(_PROBE.format(i=len(stmts) - 1, target=target)).body]
    body += ast.parse("return _ret").body if returns else []
    func.body = body
    ast.fix_missing_locations(tree)
    return compile(tree, f"<profiled {func_name}>", "exec"), stmts


def profile(source, func_name, args, calls, env=None):
    """Median seconds, mean faults and bytes per statement over `calls` calls."""
    code, stmts = instrument(source, func_name)
    n = len(stmts)
    ns = {"_pc": time.perf_counter, "_fl": _faults, "_nb": _nbytes, "np": np, **(env or {})}
    exec(code, ns)  # noqa: S102 - our own generated/benchmark code
    f = ns[func_name]
    samples, faults = [[] for _ in range(n)], [0] * n
    for _ in range(calls + 1):      # the first call warms up and is dropped
        ns["_T"], ns["_F"], ns["_B"] = [0.0] * n, [0] * n, [0] * n
        f(*args)
        for i in range(n):
            samples[i].append(ns["_T"][i])
            faults[i] += ns["_F"][i]
    return [(stmts[i], statistics.median(samples[i][1:]), faults[i] / (calls + 1), ns["_B"][i])
            for i in range(n)]


def show(rows, title):
    total = sum(r[1] for r in rows)
    print(f"{title}: {total * 1e6:.1f} us per call (sum of line medians)")
    for text, t, flt, nbytes in rows:
        line = " ".join(text.split())
        print(f"{t * 1e6:9.1f} us {100 * t / total:5.1f}%  {flt:6.0f} pf {nbytes / 2**20:7.2f} MiB  {line[:110]}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", choices=[w.name for w in ALL])
    ap.add_argument("--size", type=int, default=-1, help="index into the workload's sizes (default: largest)")
    ap.add_argument("--hand", action="store_true", help="profile the hand-written function")
    ap.add_argument("--forward", action="store_true", help="profile forward instead of value_and_grad")
    ap.add_argument("--calls", type=int, default=20)
    args = ap.parse_args(argv)
    w = next(x for x in ALL if x.name == args.workload)
    arrays = w.data(w.sizes[args.size])
    if args.hand:
        f = w.hand_fwd if args.forward else w.hand_vag
        src = textwrap.dedent(inspect.getsource(f))
        env = vars(sys.modules[f.__module__])
        rows = profile(src, f.__name__, tuple(arrays.values()), args.calls, dict(env))
        title = f"hand-written {f.__name__}"
    else:
        fn = C.gradc_compile(w)
        mod = C.generated_module(fn)
        func = "forward" if args.forward else "value_and_grad"
        rows = profile(fn.source, func, C._gradc_args(mod, arrays), args.calls)
        title = f"gradc {func}"
    show(rows, f"{title}, {w.label(w.sizes[args.size])}")


if __name__ == "__main__":
    main()
