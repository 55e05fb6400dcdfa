# Every target sets up what it needs: a .venv with gradc installed, and Graphviz's `dot` when apt can provide it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip's own progress, one line per package, without its notices: a cold install takes minutes.
PIP := $(BIN)/python -m pip install --progress-bar on --disable-pip-version-check

.PHONY: setup graphviz chromium demo test fuzz bench bench-cluster clean

setup: $(STAMP) graphviz

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing gradc with its test dependencies into $(VENV) (pip install -e '.[dev]')"
	$(PIP) -e '.[dev]'
	touch $(STAMP)

# System packages, each installed with apt-get when its program is missing; a failed install is a warning.
# $(1): the program, $(2): the Debian package, $(3): what is lost without it.
define apt_install
	@command -v $(1) >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    echo "installing $(2) with apt-get"; \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $(2) >/dev/null \
	      || echo "warning: could not install $(2); $(3)"; \
	  else echo "warning: apt-get not found; install $(2): $(3)"; fi; }
endef

# Graphviz's `dot` renders SVG/PNG; without it gradc still writes .dot files.
graphviz:
	$(call apt_install,dot,graphviz,rendering to SVG/PNG will be unavailable)

# Headless Chromium: the tests open the step-through pages in it (they are skipped without it).
chromium:
	$(call apt_install,chromium,chromium,the browser tests of the step-through page will be skipped)

# The examples also use scikit-learn's digits, scipy and matplotlib (the `examples` extra): one pip run
# installs gradc and both extras, where setup has not installed it already.
$(VENV)/.examples: pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing gradc with its test and example dependencies into $(VENV) (pip install -e '.[dev,examples]')"
	$(PIP) -e '.[dev,examples]'
	touch $(STAMP) $@

demo: $(VENV)/.examples graphviz
	$(BIN)/python examples/demo.py

# The array-api modules also run on PyTorch (CPU) and under jax.jit where those install (tests/array_libraries.txt).
test: setup chromium
	$(BIN)/python benchmarks/install.py tests/array_libraries.txt
	$(BIN)/python -m pytest

# The differential fuzzer (tests/fuzz.py) on every core: 20,000 random programs, each failure reported by seed
# (replay with `$(BIN)/python tests/fuzz.py --seed SEED --shrink`); exits non-zero on any failure.
FUZZ_PROGRAMS ?= 20000
fuzz: setup
	$(BIN)/python tests/fuzz.py --programs $(FUZZ_PROGRAMS) --shrink

bench: setup
	$(BIN)/python benchmarks/install.py
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/cluster.py

# Data-parallel training on a local Dask cluster (issue 14): ~3 GB of .npy chunks in a temporary folder, read by
# 1 and then 2 workers of 1 GiB each; minutes, so kept out of `make test` (`make bench` ends with it).
bench-cluster: setup
	$(BIN)/python benchmarks/cluster.py

clean:
	rm -rf $(VENV) build dist *.egg-info out
