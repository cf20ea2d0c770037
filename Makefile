# The README's two commands (and `make docs`, `make site`). Both create .venv on first use: torch==2.13.0 first
# (an unpinned torch would pull a multi-GB CUDA build), then this package.
VENV ?= .venv
PYTHON ?= python3
EXTRAS ?= dev,attack,ray
BIN := $(VENV)/bin
STAMP := $(VENV)/.robustsnn-installed
DATA ?= $(or $(ROBUSTSNN_DATA),data)

.PHONY: demo test site docs venv clean-venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

# The main job in miniature on SST-2 (fetches SST-2 first if it is missing): train the
# tailored and the original TextCNN briefly, convert, fine-tune one epoch, print the
# accuracy rows, attack 20 sentences with PWWS and print the table. Everything it
# writes stays under runs/demo.
DEMO := $(CURDIR)/runs/demo
RESOURCES ?= $(or $(ROBUSTSNN_RESOURCES),resources)
DEMO_ENV := ROBUSTSNN_DATA="$(DATA)" ROBUSTSNN_RESOURCES="$(RESOURCES)" ROBUSTSNN_RUNS="$(DEMO)" \
	ROBUSTSNN_RESULTS="$(DEMO)/results"

demo: venv
	@test -f "$(DATA)/sst2/train.tsv" || ROBUSTSNN_DATA="$(DATA)" $(BIN)/robustsnn data fetch sst2
	$(DEMO_ENV) $(BIN)/robustsnn train --config sst2 --model tailored --set train.max_epochs=5
	$(DEMO_ENV) $(BIN)/robustsnn train --config sst2 --model textcnn --set train.max_epochs=5
	$(DEMO_ENV) $(BIN)/robustsnn convert $(DEMO)/sst2/tailored/best.pt
	$(DEMO_ENV) $(BIN)/robustsnn finetune $(DEMO)/sst2/snn/converted-none.pt --set finetune.max_epochs=1
	$(DEMO_ENV) $(BIN)/robustsnn report accuracy --datasets sst2 --draws 3
	$(DEMO_ENV) $(BIN)/robustsnn campaign demo
	$(DEMO_ENV) $(BIN)/robustsnn table

# The leaderboard site from the committed run records, into results/site (git-ignored:
# generated, never committed); open results/site/index.html.
site: venv
	$(BIN)/robustsnn report site

# Lint first (pyproject.toml [tool.ruff]; ruff comes with the dev extra), then the suite.
# pytest exits 5 when it collects nothing: that is a broken suite, not a pass.
test: venv
	$(BIN)/ruff check robustsnn tests benchmarks
	@$(BIN)/python -m pytest -q -ra; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The documentation site (docs/: Markdown pages and the API reference from the docstrings)
# into docs/_build/html (git-ignored); open docs/_build/html/index.html. Offline; every
# Sphinx warning is an error. Installs the `docs` extra into .venv first.
DOCS_STAMP := $(VENV)/.robustsnn-docs-installed
DOCS_OUT := docs/_build

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	rm -rf $(DOCS_OUT)/html
	$(BIN)/python -m sphinx -q -W --keep-going -b html -d $(DOCS_OUT)/doctrees docs $(DOCS_OUT)/html
	@echo "make docs: open $(DOCS_OUT)/html/index.html"

clean-venv:
	rm -rf $(VENV)
