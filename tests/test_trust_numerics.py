"""Issue 11, the numerical items: each a named regression test against values known independently.

Values are checked through the public API (`gradc.compile`) and through the graph interpreter
(`gradc.evaluate.evaluate`); true values come from closed forms written out here, never from gradc.
"""
import sys
from concurrent.futures import ThreadPoolExecutor

from gradc import pipeline


# Determinism: no module-global mutable state in the rewriter (algebra kept `_building`)
THREADED_SOURCES = [
    ("mean(softplus(X@w) - y*(X@w))", {"X": ("n", "d"), "w": ("d",), "y": ("n",)}),
    ("mean(-y*log(sigmoid(X@w+b)) - (1-y)*log(1-sigmoid(X@w+b)))", {"X": ("n", "d"), "w": ("d",), "y": ("n",)}),
    ("sum((a + b) * a - b * a)", {"a": ("n",), "b": ("n",)}),
]


def test_compiling_in_threads_gives_the_serial_text():
    serial = [pipeline.run(text, shapes=shapes).source for text, shapes in THREADED_SOURCES]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, inside every rewrite
    try:
        with ThreadPoolExecutor(8) as pool:
            texts = list(pool.map(lambda i: pipeline.run(THREADED_SOURCES[i % 3][0],
                                                         shapes=THREADED_SOURCES[i % 3][1]).source, range(90)))
    finally:
        sys.setswitchinterval(interval)
    assert [i for i, text in enumerate(texts) if text != serial[i % 3]] == []
