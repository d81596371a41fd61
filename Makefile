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

.PHONY: install system-deps run test test-fast bench examples dag-test clean

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

# Airflow's own DagBag import of the DAGs, in a separate venv: Airflow's pins conflict with the
# pipeline's, and installing it takes minutes, so CI checks the DAG statically (tests/deploy).
dag-test:
	test -x .venv-airflow/bin/python || $(PYTHON) -m venv .venv-airflow
	.venv-airflow/bin/pip install --quiet "apache-airflow==3.3.2" \
	    "apache-airflow-providers-google==19.0.0" "apache-airflow-providers-apache-beam==6.3.1" pytest
	AIRFLOW_HOME=$(CURDIR)/.venv-airflow/home AIRFLOW__CORE__LOAD_EXAMPLES=False \
	    .venv-airflow/bin/python -m pytest -q -p no:cacheprovider --noconftest -c /dev/null \
	    --rootdir tests/deploy tests/deploy/test_airflow_dag.py

examples: install
	$(PY) -m examples.generate

clean:
	rm -rf out .pytest_cache
