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

.PHONY: install system-deps run test test-fast test-airflow airflow-venv bench examples dag-test clean

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

test: install system-deps airflow-venv
	$(PY) -m pytest -q -n 2 --dist loadgroup tests
	$(MAKE) --no-print-directory test-airflow

test-fast: install
	$(PY) -m pytest -q -n 2 -m "not slow" tests

bench: install
	$(PY) -m bench.run $(DATA)

# Airflow in its own venv (its pins conflict with the pipeline's): installed once, again only when
# deploy/airflow/requirements.txt changes (~2 min on a fresh machine). The pipeline is not
# installed there: the DAG runs it with its own interpreter (GATEKEEPER_PYTHON), as in production.
AIRFLOW_VENV ?= .venv-airflow

$(AIRFLOW_VENV)/.installed: deploy/airflow/requirements.txt
	test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade "pip>=24"
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet -r deploy/airflow/requirements.txt
	touch $@

airflow-venv: $(AIRFLOW_VENV)/.installed

# The DAG file under real Airflow: DagBag, rendered templates, `airflow dags test` of the nightly
# DAG on the examples with the local runner, the provider's job-id capture (tests/deploy).
test-airflow: install airflow-venv
	GATEKEEPER_PYTHON=$(abspath $(PY)) GATEKEEPER_AIRFLOW_HOME=$(abspath $(AIRFLOW_VENV))/home \
	    AIRFLOW__CORE__LOAD_EXAMPLES=False \
	    $(AIRFLOW_VENV)/bin/python -m pytest -q -p no:cacheprovider --noconftest -c /dev/null \
	    -o "markers=slow: a slow test" --rootdir tests/deploy \
	    tests/deploy/test_airflow_dag.py tests/deploy/test_airflow_real.py

dag-test: test-airflow

examples: install
	$(PY) -m examples.generate

clean:
	rm -rf out .pytest_cache
