# Perkpass: `make demo` and `make test` are all the set-up a fresh machine needs (Python >= 3.11).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 5000
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: install demo test lint bench clean vectors

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's requirements change. The whole product for developers: the SDK
# (perkpass, with every extra) and, from this checkout, the server and the kiosk, which are distributions of
# their own (packaging/server, packaging/kiosk) so that an integrator's `pip install perkpass` is the SDK alone.
$(STAMP): pyproject.toml packaging/server/pyproject.toml packaging/kiosk/pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[all]' -e ./packaging/server -e ./packaging/kiosk
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) tools/demo.py --host $(HOST) --port $(PORT) $(DEMO_ARGS)

# ruff and mypy first (tools/lint.py), then the whole suite; either failing fails `make test`.
test: install
	$(PY) tools/run_tests.py $(PYTEST_ARGS)

lint: install
	$(PY) tools/lint.py

bench: install
	$(PY) bench/verify.py
	@if [ -f bench/issue_load.py ]; then $(PY) bench/issue_load.py --repeat 3; fi
	@if [ -f bench/scan.py ]; then $(PY) bench/scan.py; fi
	@if [ -f bench/ledger_ingest.py ]; then $(PY) bench/ledger_ingest.py; fi
	@if [ -f bench/score_import.py ]; then $(PY) bench/score_import.py; fi
	@if [ -f bench/trust_list.py ]; then $(PY) bench/trust_list.py; fi
	@if [ -f bench/pp3.py ]; then $(PY) bench/pp3.py; fi
	@# city scale (docs/deploy.md); the chaos run restarts PostgreSQL: `python bench/sync_load.py` by hand
	@if [ -f bench/capacity.py ]; then $(PY) bench/capacity.py; fi
	@if [ -f bench/sync_load.py ]; then $(PY) bench/sync_load.py --no-chaos; fi
	@if [ -f bench/page_load.py ]; then $(PY) bench/page_load.py; fi
	@if [ -f bench/pp2_browser.py ]; then $(PY) bench/pp2_browser.py; fi

vectors: install
	$(PY) tools/make_test_vectors.py

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis .mypy_cache .ruff_cache
