# Two commands on a fresh machine: `make render` and `make test`.
# Both create .venv and install the project into it: `render` only what rendering needs
# (the package, and as root on Debian the system library libharfbuzz-subset0), `test`
# also the test and lint tools (and as root Debian's chromium and calcurse for the
# browser and calendar tests). scripts/install-system-deps.sh says what it installs, waits
# for apt's lock and prints apt's reason when it cannot.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RENDER_STAMP := $(VENV)/.installed-render
TEST_STAMP   := $(VENV)/.installed-test

.PHONY: render test lint catalogs check bench wheel constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installed with constraints.txt: the same engine versions on every machine (see that
# file for how to bump them).
$(RENDER_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	@./scripts/install-system-deps.sh render
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	@touch $@

$(TEST_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	@./scripts/install-system-deps.sh test
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,lint]'
	@touch $@ $(RENDER_STAMP)

## Render every document in every locale into out/
render: $(RENDER_STAMP)
	$(BIN)/handouts batch --all-locales --out out

## Lint and type-check, then run the test suite (what .ci/run runs), on every core (pytest -n auto)
test: lint
	$(BIN)/python -m pytest -n auto -q

## Re-extract messages into locales/handouts.pot (documents), locales/web.pot (the web page) and locales/errors.pot (error messages) and merge them into every catalog
catalogs: $(TEST_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --omit-header --sort-output -o locales/handouts.pot .
	$(BIN)/pybabel update -i locales/handouts.pot -d locales -D handouts --no-fuzzy-matching --ignore-obsolete --no-wrap --ignore-pot-creation-date
	$(BIN)/pybabel extract -F src/handouts/web/babel.cfg -k W_ --no-location --omit-header --sort-output -o locales/web.pot .
	$(BIN)/pybabel update -i locales/web.pot -d locales -D web --no-fuzzy-matching --ignore-obsolete --no-wrap --ignore-pot-creation-date
	$(BIN)/pybabel extract --no-default-keywords -k E_ --no-location --omit-header --sort-output -o locales/errors.pot src/handouts/errors.py
	$(BIN)/pybabel update -i locales/errors.pot -d locales -D errors --no-fuzzy-matching --ignore-obsolete --no-wrap --ignore-pot-creation-date

## Exit 0: ready; 1: cannot ship (a catalog, font or layout problem); 3: needs a person (a review)
check: $(RENDER_STAMP)
	$(BIN)/handouts check

bench: $(RENDER_STAMP)
	$(BIN)/python benchmarks/bench.py

## Lint the tree and type-check the package (mypy's settings and its strict core: pyproject.toml)
lint: $(TEST_STAMP)
	$(BIN)/ruff check src benchmarks scripts tests
	$(BIN)/mypy

## Re-resolve the newest versions pyproject.toml allows and rewrite constraints.txt
constraints:
	rm -rf .constraints-venv
	$(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/python -m pip install --quiet --upgrade pip
	.constraints-venv/bin/python -m pip install --quiet '.[test,lint]'
	{ sed -n '/^#/p' constraints.txt; .constraints-venv/bin/python -m pip freeze --exclude handouts | grep -v '^#'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .constraints-venv

wheel: $(RENDER_STAMP)
	$(BIN)/python -m pip wheel --no-deps -w dist .

clean:
	rm -rf $(VENV) dist build .pytest_cache
