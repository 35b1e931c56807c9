# LANBill — the two commands of the README and a few more.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint bench install install-production translations clean

# requirements.txt is what production runs; requirements-dev.txt adds what
# the tests, the linter and the benchmarks need.
$(STAMP): requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(DEV_STAMP)

## install: everything for development (production + tests, lint, browser)
install: $(DEV_STAMP)

## install-production: what a production box runs, nothing more
install-production: $(STAMP)

## run: set up the embedded default (SQLite in instance/) and start web + agents + worker
run: $(STAMP)
	$(BIN)/flask --app app init
	$(BIN)/flask --app app start

## test: the whole suite (DATABASE_URL=postgresql://… runs it on PostgreSQL);
## TEST_WORKERS=0 runs it in this one process
TEST_WORKERS ?= 2
test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --screenshots tests

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

## bench: performance benchmarks (not part of `make test`)
bench: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/perf -s --run-perf

## translations: extract every msgid, update the one catalogue per language
## (translations/<lang>/LC_MESSAGES/messages.po), compile
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-wrap --sort-by-file --project LANBill -o translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete --no-wrap -i translations/messages.pot -d translations
	$(BIN)/pybabel compile -d translations

clean:
	rm -rf $(VENV)

## rpm: the RPM for RED OS 8 / RHEL 9 (deploy/rpm/lanbill.spec) with the
## wheels bundled; into build/rpm/RPMS (needs rpmbuild: apt-get install rpm)
.PHONY: rpm
rpm:
	deploy/rpm/build.sh
