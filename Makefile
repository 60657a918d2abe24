# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The CPU wheel of torch, pinned and installed first: an unpinned torch pulls GBs of CUDA packages.
TORCH := torch==2.13.0
STAMP := $(VENV)/.installed
# seqlab's C++ kernels (the bptt engine and the embedding trainers), built into the environment once, and again when their sources change
KERNELS := $(VENV)/.kernels-built
KERNEL_SOURCES := $(wildcard src/seqlab/nn/bptt/csrc/*) src/seqlab/embeddings/_kernels.py

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# one line: "building seqlab's BPTT kernels (about a minute, once per environment)... done in 58 s";
# without a C++ compiler it says why and seqlab runs on its slower pure-PyTorch functions
$(KERNELS): $(STAMP) $(KERNEL_SOURCES)
	$(PY) -m seqlab.nn.bptt.build && $(PY) -m seqlab.embeddings.build && touch $(KERNELS) \
		|| echo "(continuing without the compiled kernels)"

install: $(STAMP) $(KERNELS)

demo: install
	$(VENV)/bin/seqlab demo

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: install
	$(PY) benchmarks/rnn.py --threads 1

clean:
	rm -rf $(VENV) runs .pytest_cache
