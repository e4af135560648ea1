# Setup goes into a local .venv. torch is pinned to the CPU build this machine carries;
# on a GPU machine install your CUDA/ROCm torch into .venv first (see README), then
# `make setup TORCH=` skips the pin.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0

.PHONY: setup demo test clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(if $(TORCH),$(BIN)/pip install --quiet $(TORCH))
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

# The main job: one completion from the embedded pair, through the real LSP server.
demo: setup
	$(BIN)/tandem complete examples/demo.py --line 9 --character 8

test: setup
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
