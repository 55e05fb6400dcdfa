"""Shared fixtures: a seeded random generator, and golden files regenerated only with --update-golden."""
import difflib
import zlib
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).parent / "golden"


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/* from the current output instead of comparing")


@pytest.fixture
def rng(request):
    """A generator seeded from the test's id: reproducible, and different for each test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture
def golden(request):
    """`golden(name, text)` asserts `text` equals tests/golden/<name> byte for byte, with a readable diff."""
    update = request.config.getoption("--update-golden")

    def check(name, text):
        path = GOLDEN / name
        if update:
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            return
        if not path.exists():
            pytest.fail(f"no golden file {path}; create it with pytest --update-golden")
        expected = path.read_bytes().decode("utf-8")
        if text != expected:
            diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                                f"golden/{name}", "generated"))
            pytest.fail(f"generated source differs from golden/{name} "
                        f"(rerun with --update-golden if the change is intended):\n{diff}")

    return check
