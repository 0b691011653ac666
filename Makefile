# stencilgen — `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# the Debian packages some tests run (gerbv, chromium); `make test INSTALL_TOOLS=0` never installs them.
# STENCILGEN_GERBV / STENCILGEN_CHROMIUM name other executables, for these checks as for the tests
INSTALL_TOOLS ?= 1
GERBV := $(or $(STENCILGEN_GERBV),gerbv)
CHROMIUM := $(or $(STENCILGEN_CHROMIUM),/usr/bin/chromium)
APT_GET ?= apt-get
APT_OPTIONS := -qq -o Acquire::Retries=0 -o Acquire::http::Timeout=20 -o Acquire::https::Timeout=20 \
	-o DPkg::Lock::Timeout=120

.PHONY: help install tools demo test lint typecheck unit bench fuzz samples clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

install: $(STAMP) ## create .venv and install stencilgen with its test and lint tools

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@$(PY) -m compileall -q stencilgen >/dev/null  # byte-compiled, as pip leaves an installed package
	@touch $(STAMP)

demo: install ## plan a stencil for a bundled sample layout into out/demo/
	$(VENV)/bin/stencilgen inspect sample_layouts/ring_100um.gds --layer 9/0
	$(VENV)/bin/stencilgen plan sample_layouts/ring_100um.gds --layer 9/0 -o out/demo
	@echo "stencil files: out/demo/ (ring_100um.gbr .dxf .gds; report ring_100um.json, ring_100um.html and the findings for KLayout ring_100um.lyrdb)"

tools: ## install gerbv and chromium for the tests when missing (as root with apt-get; else those tests skip)
	@need=""; why=""; \
	command -v "$(GERBV)" >/dev/null 2>&1 || need="$$need gerbv"; \
	command -v "$(CHROMIUM)" >/dev/null 2>&1 || need="$$need chromium"; \
	if [ -z "$$need" ]; then exit 0; fi; \
	if [ "$(INSTALL_TOOLS)" != 1 ]; then why="INSTALL_TOOLS=$(INSTALL_TOOLS)"; \
	elif [ "$$(id -u)" != 0 ]; then why="not root; sudo make tools installs them"; \
	elif ! command -v "$(APT_GET)" >/dev/null 2>&1; then why="no apt-get"; fi; \
	if [ -n "$$why" ]; then \
		echo "tools:$$need not installed ($$why): the tests that run them are skipped"; exit 0; \
	fi; \
	echo "tools: apt-get install$$need"; \
	log=$$(mktemp); export DEBIAN_FRONTEND=noninteractive; \
	if ! { "$(APT_GET)" update $(APT_OPTIONS) && \
		"$(APT_GET)" install -y $(APT_OPTIONS) --no-install-recommends $$need; } >"$$log" 2>&1; then \
		echo "tools: apt-get could not install$$need ($$(tail -n 1 "$$log")): the tests that run them are skipped"; \
	fi; \
	rm -f "$$log"

test: install tools lint typecheck unit ## lint, type check and the whole test suite

lint: install ## ruff lint and format check
	$(VENV)/bin/ruff check stencilgen tests benchmarks sample_layouts docs
	$(VENV)/bin/ruff format --check stencilgen tests benchmarks sample_layouts docs

typecheck: install ## mypy on the package
	$(VENV)/bin/mypy stencilgen

unit: install ## the test suite alone
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

bench: install ## benchmarks: read + rows (100k flat, 1M wafer); plan (100k flat, 1M wafer, 1M flat) beside KLayout and gdstk; check
	$(PY) benchmarks/bench_read.py
	$(PY) benchmarks/bench_plan.py
	$(PY) benchmarks/bench_check.py

fuzz: install ## a long fuzz run: damaged and random files, random dies, signals and kills at random moments, the planner's long cases (several minutes)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -n 2 tests/test_fuzz.py tests/test_faults.py tests/test_planner.py $(PYTEST_ARGS)

samples: install ## regenerate sample_layouts/ and their expected readings
	$(PY) sample_layouts/make_samples.py

clean: ## remove the venv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
