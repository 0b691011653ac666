# stencilgen — `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install demo test lint typecheck unit bench fuzz samples clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

install: $(STAMP) ## create .venv and install stencilgen with its test and lint tools

$(STAMP): pyproject.toml setup.py stencilgen/_native.c
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

demo: install ## plan a stencil for a bundled sample layout into out/demo/
	$(VENV)/bin/stencilgen inspect sample_layouts/ring_100um.gds --layer 9/0
	$(VENV)/bin/stencilgen plan sample_layouts/ring_100um.gds --layer 9/0 -o out/demo
	@echo "stencil files: out/demo/ (ring_100um.gbr .dxf .gds; report ring_100um.json and ring_100um.html)"

test: install lint typecheck unit ## lint, type check and the whole test suite

lint: install ## ruff lint and format check
	$(VENV)/bin/ruff check stencilgen tests benchmarks sample_layouts docs
	$(VENV)/bin/ruff format --check stencilgen tests benchmarks sample_layouts docs

typecheck: install ## mypy on the package
	$(VENV)/bin/mypy stencilgen

unit: install ## the test suite alone
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

bench: install ## benchmarks: read + rows (100k flat, 1M wafer); plan (100k flat, 1M wafer) beside KLayout and gdstk
	$(PY) -m compileall -q stencilgen  # as an installed package has it: no compiling at every start
	$(PY) benchmarks/bench_read.py
	$(PY) benchmarks/bench_plan.py

fuzz: install ## a long fuzz run: damaged and random files, random dies (several minutes)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -n 2 tests/test_fuzz.py $(PYTEST_ARGS)

samples: install ## regenerate sample_layouts/ and their expected readings
	$(PY) sample_layouts/make_samples.py

clean: ## remove the venv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
