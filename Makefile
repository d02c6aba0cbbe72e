# Two commands for a newcomer: `make demo` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= samples/glute_bridge_BE-PROJECTS2018_GroupNo23.npz

.PHONY: demo test lint install install-dev browser xvfb clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Re-run the install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make demo: create .venv, install formcheck, score a shipped set (a pose track from a dev video)
demo: install
	$(BIN)/formcheck $(DEMO)

# $(call debian,COMMAND,PACKAGE,TEST): install Debian's PACKAGE where COMMAND is missing (as root),
# else say that TEST will be skipped. No downloaded browser or X server: the distribution's own.
define debian
	@command -v $(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's $(2) for $(3)"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	  else echo "$(1) not found: $(3) will be skipped"; fi; }
endef

# The HTML report and video tests render in Chromium; the live window test opens on Xvfb.
browser:
	$(call debian,chromium,chromium,the browser tests)

xvfb:
	$(call debian,Xvfb,xvfb,the live window test)

## make test: install dev extras (and chromium, Xvfb), lint, run the whole suite: two workers (pytest-xdist;
## dev tracks made once and shared through files), then the timing-sensitive tests alone (marker `serial`)
test: install-dev browser xvfb lint
	$(BIN)/python -m pytest -q -n 2 -m "not serial" --durations=15
	$(BIN)/python -m pytest -q -m serial

## make lint: ruff, mypy on src/ ([tool.mypy] in pyproject.toml), the layer check (imports only go down: docs/architecture.md)
lint: install-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_layers.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
