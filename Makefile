# The two entry points: `make demo` (the main job) and `make test`.
# Each creates .venv on first use and installs everything the project needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
TORCH := torch==2.13.0

.PHONY: demo test lint bench install clean tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --progress-bar off $(TORCH)
	$(PY) -m pip install --quiet --progress-bar off $(TORCH) -e ".[dev,torch]"
	touch $(STAMP)

install: $(STAMP)

# The main job: a fresh cohort from the two held-out sites, estimated with the shipped model, compared with
# its DXA (table, r, MAE, AUC); overlays and records in demo_output/.
demo: $(STAMP)
	$(VENV)/bin/hipbmd demo -o demo_output

test: $(STAMP)
	$(PY) -m pytest

# Benchmarks print their figures (DiffDRR is installed only here, with torch pinned in the same command).
bench: $(STAMP)
	$(PY) -m pip install --quiet --progress-bar off $(TORCH) -e ".[dev,torch,benchmark]"
	$(PY) benchmarks/drr_speed.py
	$(PY) benchmarks/registration.py

# Debian tools some tests use when present: dciodvfy (dicom3tools) validates the DICOM results, and
# Chromium runs the web page's browser test (Playwright drives it; its own browser download is not used).
DEBIAN_TOOLS := dicom3tools chromium
tools:
	@if command -v dciodvfy >/dev/null && command -v chromium >/dev/null; then echo "tools present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y -q --no-install-recommends $(DEBIAN_TOOLS) >/dev/null 2>&1 || \
		(apt-get update -q >/dev/null 2>&1 && \
		 apt-get install -y -q --no-install-recommends $(DEBIAN_TOOLS) >/dev/null 2>&1) || \
		echo "$(DEBIAN_TOOLS) could not be installed: their tests are skipped"; \
	else echo "$(DEBIAN_TOOLS) not installed: their tests are skipped"; fi

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
