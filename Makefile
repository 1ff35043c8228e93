# Two commands on a fresh machine: `make render` and `make test`.
# Both create .venv and install the project into it (and, where the machine lets us,
# the system library libharfbuzz-subset0).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: render test catalogs check bench wheel clean

$(STAMP): pyproject.toml
	@./scripts/install-system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

## Render every document in every locale into out/
render: $(STAMP)
	$(BIN)/handouts batch --all-locales --out out

## Run the test suite (what .ci/run runs)
test: $(STAMP)
	$(BIN)/python -m pytest -n auto -q

## Re-extract messages into locales/handouts.pot (documents) and locales/web.pot (the web page) and merge them into every catalog
catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --omit-header --sort-output -o locales/handouts.pot .
	$(BIN)/pybabel update -i locales/handouts.pot -d locales -D handouts --no-fuzzy-matching --ignore-obsolete --no-wrap --ignore-pot-creation-date
	$(BIN)/pybabel extract -F src/handouts/web/babel.cfg -k W_ --no-location --omit-header --sort-output -o locales/web.pot .
	$(BIN)/pybabel update -i locales/web.pot -d locales -D web --no-fuzzy-matching --ignore-obsolete --no-wrap --ignore-pot-creation-date

check: $(STAMP)
	$(BIN)/handouts check

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

wheel: $(STAMP)
	$(BIN)/python -m pip wheel --no-deps -w dist .

clean:
	rm -rf $(VENV) dist build .pytest_cache
