# lsra-fairseq: install, test, and the recipes built on fairseq.
#   make install   create .venv with torch, fairseq (fairseq-fixed) and this package
#   make test      install when needed, then run the test suite
#   make test-slow the slow tests (2-process distributed training), summary in results/test-slow.txt
#   make profile   reproduce the paper's #Params / #MACs tables (lsra-profile --paper)
#   make bench     speed benchmarks (python -m benchmarks), results under results/bench-*
# Dataset recipes (prepare / train / test-model / demo) live in examples/<dataset>/recipe.mk.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
FAIRSEQ_VERSION ?= 0.12.3.1
# Folder holding the read-only shared data (tests and recipes may read it).
SHARED ?= $(abspath ../shared)

.PHONY: install test test-slow train test-model profile bench

# Per-dataset recipes define prepare-<dataset>, train-<dataset> and test-model-<dataset>;
# the generic targets dispatch on DATASET (e.g. make train DATASET=iwslt14 MODEL=lite_160).
DATASET ?=
MODEL ?=

# The stamp records a finished install, so `make test` installs only once (and again when
# setup.py changes). fairseq-fixed is built against the installed torch (--no-build-isolation)
# and without its dependencies, which would pull torchaudio; setup.py lists what fairseq needs.
$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade "pip>=23" "setuptools>=68,<81" wheel
	$(PIP) install "torch==$(TORCH_VERSION)" "numpy>=1.24,<2.3" "cython>=3.0"
	$(PIP) install --no-build-isolation --no-deps "fairseq-fixed==$(FAIRSEQ_VERSION)"
	$(PIP) install -e ".[test]"
	touch $@

install: $(VENV)/.installed

test: install
	LSRA_SHARED=$(SHARED) $(PY) -m pytest -q -p no:cacheprovider -m "not slow" tests

# The tests marked slow (multi-process training runs); the summary goes to results/test-slow.txt.
test-slow: install
	set -o pipefail; { echo "# make test-slow: pytest -q -p no:cacheprovider -m slow -rpfEs --disable-warnings tests"; \
	    LSRA_SHARED=$(SHARED) $(PY) -m pytest -q -p no:cacheprovider -m slow -rpfEs --disable-warnings tests 2>&1; } \
	    | tee $(RESULTS)/test-slow.txt

# The paper's #Params / #MACs tables, measured here and compared (exits non-zero when a row is off).
profile: install
	$(BIN)/lsra-profile --paper

# Speed benchmarks: every figure a ratio measured side by side, medians, threads stated.
#   make bench [BENCH_ARGS="generation --threads 1"]
BENCH_ARGS ?=
bench: install
	$(PIP) install -q -e ".[bench]"
	$(PY) -m benchmarks $(BENCH_ARGS)

train test-model: install
	@test -n "$(filter $(DATASET),$(DATASETS))" || \
	    { echo "set DATASET=<one of: $(sort $(DATASETS))>, e.g. make $@ DATASET=iwslt14 MODEL=lite_160"; exit 2; }
	$(MAKE) $@-$(DATASET)

include examples/recipes.mk $(wildcard examples/*/recipe.mk)
