"""Install optional libraries into this interpreter's environment: the benchmark's competitors
(benchmarks/requirements.txt, the default), or the array libraries the tests run the array-api modules on
(`install.py tests/array_libraries.txt`, which `make test` runs).

One `pip install` per requirement, so one that cannot be had (no wheel for this Python, no network) leaves
the others installed; a failure is a warning, and run.py then reports that tool as "not installed" (the tests
skip it). Requirements already importable are skipped, so a second run is quick.
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


def main(path=None):
    for req in requirements(*([path] if path else [])):
        module = re.split(r"[=<>!~\[ ;]", req, maxsplit=1)[0]
        if importlib.util.find_spec(module) is not None:
            continue
        print(f"installing {req} ...", flush=True)
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", req])
        if done.returncode != 0:
            print(f"warning: could not install {req}; what needs it reports it as not installed or skips",
                  file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
