"""Graphviz's `dot` as a child process: DOT text -> SVG, PNG or PDF, stopped after a timeout or with gradc."""
import contextlib
import shutil
import signal
import subprocess
import threading
from pathlib import Path

from gradc.viz.render import RenderError

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None, ".gv": None}
NO_DOT = ("writing {suffix} needs Graphviz's `dot` program, which was not found: install Graphviz "
          "(apt-get install graphviz, or brew install graphviz) or write a .dot file")
LAYOUT_SECONDS = 30  # a picture within render.MAX_NODES takes dot a second or two; past this dot is stopped


def write(dot, path, timeout=LAYOUT_SECONDS):
    """Write `dot` to `path` in the format its suffix names; .dot needs no Graphviz installation.

    Graphviz's `dot` lays the picture out in a child process that is ended after `timeout` seconds, or
    when gradc is interrupted or terminated, so it never outlives the call.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise RenderError(f"cannot write '{path}': give a file ending in .svg, .png, .pdf or .dot")
    data = dot.source.encode("utf-8") if FORMATS[suffix] is None else layout(dot.source, suffix, timeout)
    try:
        path.write_bytes(data)
    except OSError as error:
        raise RenderError(f"cannot write '{path}': {error.strerror or error}") from None
    return path


def layout(source, suffix, timeout=LAYOUT_SECONDS):
    """The DOT text `source` drawn by `dot` in the format of `suffix`, in at most `timeout` seconds."""
    program = shutil.which("dot")
    if program is None:
        raise RenderError(NO_DOT.format(suffix=suffix))
    try:
        with _sigterm_as_exit():  # subprocess.run kills dot on any exception, a timeout included, then waits
            done = subprocess.run([program, f"-T{FORMATS[suffix]}"], input=source.encode("utf-8"),
                                  capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz took more than {timeout:g} s to lay out the picture and was stopped: "
                          f"draw a smaller expression, or write a .dot file") from None
    except OSError as error:
        raise RenderError(f"cannot run Graphviz's dot: {error.strerror or error}") from None
    if done.returncode:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"Graphviz failed: {detail[0] if detail else f'exit status {done.returncode}'}")
    return done.stdout


@contextlib.contextmanager
def _sigterm_as_exit():
    """Make SIGTERM raise SystemExit for a while, so that the code unwinding kills `dot` on the way out.

    By default SIGTERM (`kill`, `timeout`) ends Python at once, leaving the child laying out a picture for
    minutes. Only a handler of the main thread runs, and one the program installed itself is kept.
    """
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _exit(signum, frame):
    """SIGTERM's handler while dot runs: exit with the status the signal itself would give (143)."""
    raise SystemExit(128 + signum)
