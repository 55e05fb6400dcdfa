"""Soundness of the split, on random programs: wherever gradc calls a loss separable in a dimension, computing it
a chunk of rows at a time (as the cluster does, here in one process: `gradc.cluster.gradients.in_chunks`) gives
the value and gradients of the whole. The programs are the differential fuzzer's (tests/fuzz.py)."""
import math

import numpy as np
import pytest

import fuzz
import gradc
from gradc.cluster.gradients import in_chunks
from gradc.cluster.separability import SeparabilityError, split

SEEDS = range(150)  # about 55 splits checked, 10 s


def close(got, want):
    return np.allclose(got, want, rtol=1e-9, atol=1e-12 * max(1.0, float(np.max(np.abs(want), initial=0.0))))


def splits(seed):
    """(fn, dim, sizes) for each dimension the fuzzer's program of `seed` is separable in, with 2 rows or more."""
    program = fuzz.generate(seed)
    fn = gradc.compile(program.text, shapes=program.shapes, strict=False)
    return [(fn, dim, program.sizes) for dim in fn.separable if program.sizes[dim] >= 2]


def test_random_programs_computed_in_chunks_equal_the_whole():
    checked, rng = 0, np.random.default_rng(0)
    for seed in SEEDS:
        for fn, dim, sizes in splits(seed):
            arrays = fuzz.draw_point(fn.stages.parsed, sizes, rng)
            value, grads = fn.value_and_grad(**arrays)
            if not (math.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads.values())):
                continue
            data = split(fn.stages.parsed, dim).axes
            for rows in ([1] * sizes[dim], [sizes[dim] - 1, 1]):
                got, got_grads = in_chunks(fn, arrays, dim, rows)
                assert close(got, value), (seed, dim, rows, fn.stages.parsed.source)
                assert set(got_grads) == {name for name in fn.wrt if name not in data}
                for name, grad in got_grads.items():
                    assert close(grad, grads[name]), (seed, dim, rows, name, fn.stages.parsed.source)
            checked += 1
    assert checked >= 25  # the fuzzer's programs are separable often enough for this to test something


def test_a_split_that_mixes_rows_would_be_caught():
    """The referee can fail: a coupled loss computed in chunks anyway (its split forced) disagrees."""
    fn = gradc.compile("amax(u) + sum(u)", shapes={"u": ("n",)})
    with pytest.raises(SeparabilityError):
        split(fn.stages.parsed, "n")
    u = np.array([0.3, -1.0, 2.0, 0.5])
    chunked = sum(float(fn(u=part)) for part in (u[:2], u[2:]))  # what a chunk-by-chunk sum would give
    assert not np.isclose(chunked, fn(u=u))
