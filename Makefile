# Two entry points for a fresh machine: `make run` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test venv demo clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[app,test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/make_demo.py --if-missing

run: demo
	$(VENV)/bin/salfom-app

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) build *.egg-info
