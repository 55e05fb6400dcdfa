"""Peak memory of one value-and-gradient call, measured with tracemalloc.

NumPy reports its array buffers to tracemalloc (domain 389047), so the traced peak during a call is the
peak of the temporaries it allocated plus what it returns. Inputs are allocated before tracing starts.
"""
import gc
import tracemalloc


def peak_bytes(call):
    """Peak traced bytes above the baseline while `call()` runs (its result is kept until measured)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        result = call()
        _, peak = tracemalloc.get_traced_memory()
        del result
        return peak - base
    finally:
        tracemalloc.stop()


def compare(impls):
    """{name: peak bytes} for each Impl, each measured on its own (warm: the first call already done)."""
    out = {}
    for impl in impls:
        impl.call()
        out[impl.name] = peak_bytes(impl.call)
    return out
