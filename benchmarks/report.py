"""Tables for the terminal and for RESULTS.md (the same Markdown text serves both)."""

GRADIENT_COLUMNS = ("hand", "gradc", "gradc api", "jax", "torch", "autograd")
FIELD = ("hand", "jax", "torch", "autograd")


def fmt_time(seconds):
    """3 significant figures in ns/us/ms/s."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            v = seconds / scale
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return "?"


def fmt_bytes(n):
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(row, name, ref="hand"):
    """`12.3 us (1.05x)`: the time and its ratio to `ref`; the reason instead when there is no time."""
    t = row["times"].get(name)
    if t is None:
        return row["status"].get(name, "-")
    base = row["times"].get(ref) if ref else None
    return f"{fmt_time(t)} ({t / base:.2f}x)" if base and name != ref else fmt_time(t)


def _ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def gradient_table(rows):
    """Times per call of value-and-gradient, each with its ratio to hand-written NumPy."""
    header = ["workload", *GRADIENT_COLUMNS, "gradc / fastest other", "grad/fwd gradc", "grad/fwd hand",
              "other load"]
    body = []
    for row in rows:
        t = row["times"]
        others = [t[k] for k in FIELD if t.get(k)]
        best = min(others) if others else None
        body.append([row["label"], *(_cell(row, k) for k in GRADIENT_COLUMNS),
                     _ratio(t.get("gradc"), best),
                     _ratio(t.get("gradc"), t.get("gradc fwd")), _ratio(t.get("hand"), t.get("hand fwd")),
                     "-" if row.get("other_load") is None else f"{row['other_load']:.0%}"])
    return _table(header, body)


def array_api_table(rows):
    """The array-api module against each library's own autodiff on its own arrays (issue 13)."""
    header = ["workload", "torch autograd", "gradc@torch", "gradc@torch / torch", "jax.jit(value_and_grad)",
              "jax.jit(gradc)", "gradc@jax / jax"]
    body = [[r["label"], _cell(r, "torch", None), _cell(r, "gradc@torch", None),
             _ratio(r["times"].get("gradc@torch"), r["times"].get("torch")), _cell(r, "jax", None),
             _cell(r, "gradc@jax", None), _ratio(r["times"].get("gradc@jax"), r["times"].get("jax"))] for r in rows]
    return _table(header, body)


def forward_table(rows):
    header = ["workload", "hand fwd", "gradc fwd", "gradc fwd / hand fwd"]
    body = [[r["label"], _cell(r, "hand fwd", None), _cell(r, "gradc fwd", None),
             _ratio(r["times"].get("gradc fwd"), r["times"].get("hand fwd"))] for r in rows]
    return _table(header, body)


def compile_table(workload_rows, scaling_rows):
    body = [[r["label"], fmt_time(r["fresh_s"]) if "fresh_s" in r else r.get("error", "-"),
             fmt_time(r["cached_s"]) if "cached_s" in r else "-", r.get("how", "-")] for r in workload_rows]
    body += [[f"generated, {r['nodes']} nodes", fmt_time(r["fresh_s"]) if "fresh_s" in r else r.get("error", "-"),
              fmt_time(r["cached_s"]) if "cached_s" in r else "-", r.get("how", "-")] for r in scaling_rows]
    text = _table(["source", "fresh compile", "cached compile", "cache bypass"], body)
    ok = [r for r in scaling_rows if "fresh_s" in r]
    if len(ok) >= 2:
        import math
        a, b = ok[-2], ok[-1]
        nlogn = (b["nodes"] * math.log(b["nodes"])) / (a["nodes"] * math.log(a["nodes"]))
        text += (f"\n\nGrowth {a['nodes']} -> {b['nodes']} nodes: {b['fresh_s'] / a['fresh_s']:.1f}x "
                 f"(n log n would be {nlogn:.1f}x, linear {b['nodes'] / a['nodes']:.1f}x).")
    return text


def memory_table(rows):
    body = [[r["label"], *(fmt_bytes(r["peaks"][k]) if k in r["peaks"] else "-" for k in ("hand", "gradc")),
             _ratio(r["peaks"].get("gradc"), r["peaks"].get("hand"))] for r in rows]
    return _table(["workload", "hand peak", "gradc peak", "gradc / hand"], body)


def header(machine, versions):
    items = [f"- {k}: {v}" for k, v in {**machine, **versions}.items()]
    return "\n".join(items)


def claim(machine, rows):
    """The sentence the README may say about these timings: the machine and BLAS, gradc's ratio to hand-written
    NumPy at each workload's largest size, and which competitor beat it where.

    Every performance sentence in the README is this one, copied from a `make bench` run.
    """
    largest = {}
    for row in rows:
        if row["times"].get("gradc") and row["times"].get("hand"):
            largest[row.get("workload", row["label"])] = row  # rows come smallest size first
    if not largest:
        return "No timings to summarise."
    ratios = [row["times"]["gradc"] / row["times"]["hand"] for row in largest.values()]
    cpu = machine.get("Model name", "an unknown CPU")
    sentence = (f"On {cpu} ({machine.get('cores visible', '?')} cores, NumPy with {machine.get('NumPy BLAS', '?')}), "
                f"the generated value_and_grad took {min(ratios):.2f}-{max(ratios):.2f}x the time of hand-written "
                f"NumPy at the largest size of each workload")
    beaten = []
    for name in FIELD[1:]:
        faster = [label for label, row in largest.items()
                  if row["times"].get(name) and row["times"][name] < row["times"]["gradc"]]
        timed = [row for row in largest.values() if row["times"].get(name)]
        if faster:
            beaten.append(f"{name} was faster on {', '.join(faster)}")
        elif timed:
            beaten.append(f"faster than {name} on all {len(timed)}")
    return sentence + ("; " + "; ".join(beaten) if beaten else "") + "."
