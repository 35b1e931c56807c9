# LANBill — the two commands of the README and a few more.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install translations clean

$(STAMP): requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

## run: set up the embedded default (SQLite in instance/) and start web + agents + worker
run: $(STAMP)
	$(BIN)/flask --app app init
	$(BIN)/flask --app app start

## test: the whole suite (DATABASE_URL=postgresql://… runs it on PostgreSQL);
## TEST_WORKERS=0 runs it in this one process
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) tests

lint: $(STAMP)
	$(BIN)/ruff check .

## bench: performance benchmarks (not part of `make test`)
bench: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/perf -s --run-perf

translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations
	$(BIN)/pybabel compile -d translations

clean:
	rm -rf $(VENV)
