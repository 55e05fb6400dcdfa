"""Install the benchmark's competitors (benchmarks/requirements.txt) into this interpreter's environment.

One `pip install` per requirement, so one that cannot be had (no wheel for this Python, no network) leaves
the others installed; a failure is a warning, and run.py then reports that tool as "not installed".
Requirements already importable are skipped, so `make bench` stays quick the second time.
"""
import importlib.util
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def requirements(path=os.path.join(HERE, "requirements.txt")):
    with open(path) as fh:
        return [line.split("#")[0].strip() for line in fh if line.split("#")[0].strip()]


def main():
    for req in requirements():
        module = re.split(r"[=<>!~\[ ;]", req, maxsplit=1)[0]
        if importlib.util.find_spec(module) is not None:
            continue
        print(f"bench: installing {req} ...", flush=True)
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", req])
        if done.returncode != 0:
            print(f"warning: could not install {req}; the benchmark will report it as not installed",
                  file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
