# The README's commands. `make book` and `make test` each set up .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PRESET ?= smoke
PORT ?= 5000

.PHONY: setup book run-plan test test-slow ui clean-book

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

setup: $(STAMP)

# The main job: run the default plan (embedded data unless PRESET says otherwise), make the record portable
# (repo-relative artifact paths, no machine paths: `randnas record export`), then build the book.
book: $(STAMP)
	MLFLOW_ALLOW_FILE_STORE=true $(BIN)/randnas run plans/default.yaml --preset $(PRESET)
	MLFLOW_ALLOW_FILE_STORE=true $(BIN)/randnas record export
	MLFLOW_ALLOW_FILE_STORE=true $(BIN)/jupyter-book build . --all -W --keep-going --quiet
	@echo "book: $(CURDIR)/_build/html/index.html"

# Lint and layout (the repo's ruff settings in pyproject.toml), then unit tests and nbval over the notebooks'
# fast defaults; everything logs to a temporary MLflow store.
test: $(STAMP)
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --check --no-cache --quiet .
	$(BIN)/python -m pytest -m "not slow" tests notebooks --nbval-lax -p no:cacheprovider

# The slower checks: every notebook's cpu job on a few minibatches of the real data (RANDNAS_DATA, else ../shared/data;
# entries whose data is absent are skipped with the reason), about 20 minutes on 2 cores; see README.
test-slow: $(STAMP)
	MLFLOW_ALLOW_FILE_STORE=true $(BIN)/python -m pytest -m slow tests -p no:cacheprovider

ui: $(STAMP)
	$(BIN)/randnas ui --port $(PORT)

clean-book:
	rm -rf _build
