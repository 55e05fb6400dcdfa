"""Round-robin timing: every implementation of a row is timed in turn, round after round, in one process.

Interleaving spreads slow drifts (frequency scaling, a noisy neighbour, the other core's load) over all
implementations alike; the median over rounds of the per-call time of a batch is reported.
"""
import gc
import statistics
import time

_clock = time.perf_counter


def _batch(call, number):
    """Seconds per call over `number` back-to-back calls, with the garbage collector off (as timeit)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = _clock()
        for _ in range(number):
            call()
        return (_clock() - start) / number
    finally:
        if enabled:
            gc.enable()


def calibrate(call, min_batch_s):
    """Calls per batch so that one batch lasts at least `min_batch_s` (after one warm-up call)."""
    call()
    number = 1
    while True:
        t = _batch(call, number) * number
        if t >= min_batch_s or number >= 1 << 20:
            return number
        number = max(number * 2, int(number * min_batch_s / max(t, 1e-9) * 1.2))


def round_robin(calls, families=None, min_batch_s=0.02, budget_s=6.0, min_rounds=5, max_rounds=31,
                cooldown_s=0.1):
    """Median seconds per call for each of `calls` ({name: no-arg callable}), interleaved.

    `families` ({name: runtime}) groups implementations that share thread pools (NumPy's OpenBLAS, XLA,
    PyTorch's OpenMP): within a round a family runs back to back, and switching family waits `cooldown_s`
    so that one runtime's spinning workers do not steal the cores from the next. The number of rounds
    fits the row's time budget, clamped to [min_rounds, max_rounds]; the order within each family
    rotates every round so none is always first.
    """
    families = families or {}
    numbers = {name: calibrate(call, min_batch_s) for name, call in calls.items()}
    per_round = sum(_batch(c, numbers[n]) * numbers[n] for n, c in calls.items())
    groups = {}
    for name in calls:
        groups.setdefault(families.get(name, "numpy"), []).append(name)
    per_round += cooldown_s * (len(groups) - 1)
    rounds = int(min(max_rounds, max(min_rounds, budget_s / max(per_round, 1e-9))))
    samples = {name: [] for name in calls}
    for r in range(rounds):
        for g, members in enumerate(groups.values()):
            if g and cooldown_s:
                time.sleep(cooldown_s)
            for i in range(len(members)):
                name = members[(r + i) % len(members)]
                samples[name].append(_batch(calls[name], numbers[name]))
        if len(groups) > 1 and cooldown_s:
            time.sleep(cooldown_s)
    return {name: statistics.median(s) for name, s in samples.items()}, rounds


class LoadMeter:
    """How busy the machine's CPUs were with work other than this process, from /proc/stat.

    Benchmarks on a shared 2-core machine are only as good as the quiet they ran in; the report states it.
    """

    def __init__(self):
        self.start = self._read()

    @staticmethod
    def _read():
        import os
        try:
            with open("/proc/stat") as fh:
                fields = [int(v) for v in fh.readline().split()[1:]]
        except OSError:
            return None
        hz = os.sysconf("SC_CLK_TCK")
        busy = sum(fields) - fields[3] - fields[4]     # all but idle and iowait
        t = os.times()
        return busy / hz, sum(fields) / hz, t.user + t.system + t.children_user + t.children_system

    def other_fraction(self):
        """Fraction of all CPU time since construction spent by other processes (None off Linux)."""
        end = self._read()
        if self.start is None or end is None:
            return None
        busy, total, own = (e - s for e, s in zip(end, self.start))
        return max(0.0, (busy - own) / total) if total > 0 else None
