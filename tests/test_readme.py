"""The README's Python snippets run exactly as written.

Every ```python block of README.md runs, in order, in one namespace (as a reader runs them top to bottom, or a
notebook its cells), each from a file of its own (so that `inspect` finds the functions a block defines), in a
temporary folder. A block that is deliberately not runnable (a fragment of a generated module) is marked by an
HTML comment on the line before its fence: `<!-- not run: why -->`; one that needs optional libraries says so,
`<!-- needs: torch, jax -->`, and runs where they are installed.
"""
import importlib.util
import re
import runpy
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)
NOT_RUN = "<!-- not run"
NEEDS = re.compile(r"<!-- needs: ([\w, ]+) -->")


def blocks(text):
    """(line number, code, runnable) for each ```python block of `text`."""
    found = []
    for match in FENCE.finditer(text):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        found.append((text.count("\n", 0, match.start()) + 1, match.group(1), not before.startswith(NOT_RUN)))
    return found


def test_the_readme_has_python_blocks_and_few_are_not_run():
    found = blocks(README.read_text(encoding="utf-8"))
    assert len(found) >= 5
    assert sum(not runnable for _, _, runnable in found) <= 1


def test_every_python_block_of_the_readme_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    text = README.read_text(encoding="utf-8")
    for line, code, runnable in blocks(text):
        needs = NEEDS.match(text.split("\n")[line - 2])
        if not runnable or needs and any(importlib.util.find_spec(name.strip()) is None
                                         for name in needs.group(1).split(",")):
            continue
        path = tmp_path / f"readme_line_{line}.py"
        path.write_text(code, encoding="utf-8")
        try:
            namespace = runpy.run_path(str(path), init_globals=namespace, run_name="__readme__")
        except Exception as error:  # noqa: BLE001 - any failure is the README's
            pytest.fail(f"README.md line {line}: the block fails: {type(error).__name__}: {error}")


def test_a_block_marked_not_run_is_skipped_and_the_others_are_found():
    text = "x\n```python\na = 1\n```\n<!-- not run: a fragment -->\n```python\n    b\n```\n"
    assert blocks(text) == [(2, "a = 1\n", True), (6, "    b\n", False)]
