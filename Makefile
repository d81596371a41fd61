# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON      ?= python3
VENV        ?= .venv
PY          := $(VENV)/bin/python
OUT         ?= out/examples
DATA        ?= ../shared/data
# A clearly fake development key: real runs must set their own secret.
export GATEKEEPER_PSEUDONYM_KEY ?= dev-only-NOT-A-SECRET-0123456789abcdef
export HF_HUB_OFFLINE := 1
export TLDEXTRACT_CACHE := $(CURDIR)/.venv/tldextract-cache

.PHONY: install system-deps run test test-fast bench examples clean

$(VENV)/.installed: setup.py constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Debian packages the browser and PostgreSQL tests use (needs root or sudo; skipped otherwise).
system-deps:
	@scripts/install-system-deps.sh

run: install
	$(PY) -m pipeline run --input examples/meetings --consent examples/consent/ledger.jsonl \
	  --output $(OUT) --as-of 2026-06-01T00:00:00Z

test: install system-deps
	$(PY) -m pytest -q -n 2 --dist loadgroup tests

test-fast: install
	$(PY) -m pytest -q -n 2 -m "not slow" tests

bench: install
	$(PY) -m bench.run $(DATA)

examples: install
	$(PY) -m examples.generate

clean:
	rm -rf out .pytest_cache
