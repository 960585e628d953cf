# Two entry points: `make demo` and `make test`. Both build .venv from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,serve,lightfm,report,mlxtend,tune,spark]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/recsys demo --output out/demo

# The /docs test loads the page in headless chromium (Debian package). Installed here when
# missing and we are root with apt-get (a fresh Debian machine, CI); else the test is skipped
# with a reason.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "chromium is missing and cannot be installed here: the /docs browser test will be skipped"; \
	  fi; }

test: $(STAMP) browser
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check recsys tests benchmarks
	$(BIN)/mypy recsys

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/metrics.py

clean:
	rm -rf $(VENV) out
