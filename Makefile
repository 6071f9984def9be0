# Two commands set everything up on a fresh Debian machine (see README.md):
#   make run   - runtime only (no torch): read the bundled example cards with the shipped models
#   make test  - system packages + every extra, then the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Fonts for the synthetic data generators (training/card/fonts.py lists what it uses).
FONT_PACKAGES := fonts-ocr-a fonts-ocr-b fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 \
	fonts-freefont-ttf fonts-nanum fonts-wqy-microhei fonts-roboto-unhinted fonts-crosextra-carlito \
	fonts-crosextra-caladea fonts-inconsolata fonts-urw-base35 fonts-lato fonts-open-sans \
	fonts-courier-prime fonts-hack fonts-jetbrains-mono fonts-texgyre
# Test services: PostgreSQL for the collector's storage tests; Chromium for the demo's browser tests.
SERVICE_PACKAGES := postgresql chromium
DEB_PACKAGES := $(FONT_PACKAGES) $(SERVICE_PACKAGES)

.PHONY: run test lint system-deps install-runtime install-all demo-deps train-card export-card clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install-runtime: $(BIN)/python
	$(BIN)/pip install -q -e .

install-all: $(BIN)/python
	$(BIN)/pip install -q -e '.[train,export,server,tflite,bench,dev]'

run: install-runtime
	$(BIN)/pocketocr models
	$(BIN)/pocketocr card sdk/pocketocr/examples/cards/images/*.jpg

system-deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The Android demo's web app: exact versions from its package-lock.json (npm registry only).
demo-deps:
	@if [ -f android_demo/package-lock.json ]; then cd android_demo && npm ci --no-audit --no-fund --loglevel=error; fi

# ruff at the version [dev] pins (pyproject.toml [tool.ruff]); part of `make test`, so CI fails on a finding.
lint: install-all
	$(BIN)/ruff check .

test: system-deps install-all demo-deps lint
	$(BIN)/python -m pytest -q

# Reproduce the shipped card models: render data, train (background-friendly, resumable), export int8.
train-card: install-all
	$(BIN)/pocketocr train card --out runs/card
export-card: install-all
	$(BIN)/pocketocr export card --run runs/card --out sdk/pocketocr/models

clean:
	rm -rf $(VENV) runs .pytest_cache
