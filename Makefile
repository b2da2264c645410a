# Quartet's two entry points on a fresh machine:
#   make demo    create the venv, install, compile the bundled MLP to PTX, run it on the CPU
#   make check   install test tools, then ruff, pytest and lit
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest workers: one per core (the suite is CPU-bound compiles; lit already uses every core).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: demo check lint test lit ptxas browser clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Quartet needs $(PYTHON) (the MLIR wheels are cp311 only)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,report]'
	touch $@

# NVIDIA's assembler checks every PTX file; PyPI carries it in nvidia-cuda-nvcc when CUDA is absent.
ptxas: $(STAMP)
	@command -v ptxas >/dev/null || $(BIN)/python -c "import quartet.ptxas as p, sys; sys.exit(p.find_ptxas() is None)" \
	  || $(BIN)/pip install --quiet nvidia-cuda-nvcc

# The report's test opens report.html in a real headless browser: Debian's chromium, installed
# where this machine can (root with apt-get); elsewhere that one test skips and says why.
browser:
	@command -v chromium >/dev/null || ! command -v apt-get >/dev/null || [ "$$(id -u)" != 0 ] \
	  || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
	  || echo "chromium could not be installed: the report's browser check will skip"

demo: $(STAMP) ptxas
	$(BIN)/quartet demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) ptxas browser
	$(BIN)/pytest -q -n $(JOBS) --dist worksteal

lit: $(STAMP) ptxas
	$(BIN)/lit -sv test

check: lint test lit

clean:
	rm -rf $(VENV) build *.egg-info
