# Every target builds what it needs: .venv is (re)made when missing or when pyproject.toml changes.
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: help demo train download submit test test-fast lint format bench bench-smoke clean clean-venv delete-runs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## train the mlp preset on the bundled sample (offline) and write a submission
	$(BIN)/kaggle-digits train --sample --preset mlp $(ARGS)

train: $(STAMP)  ## train on data/ (make train ARGS="--preset tutorial")
	$(BIN)/kaggle-digits train $(ARGS)

download: $(STAMP)  ## competition files into data/ through the official Kaggle client (needs credentials)
	$(BIN)/kaggle-digits download $(ARGS)

submit: $(STAMP)  ## check and upload the newest finished full-data run's CSV (make submit ARGS='-m "note" --wait')
	$(BIN)/kaggle-digits submit $(ARGS)

test: $(STAMP)  ## run the whole test suite
	$(BIN)/python -m pytest $(ARGS)

test-fast: $(STAMP)  ## run the tests that train no real network (seconds)
	$(BIN)/python -m pytest -m "not slow" $(ARGS)

lint: $(STAMP)  ## ruff check and format check
	$(BIN)/ruff check kaggle_digits tests benchmarks
	$(BIN)/ruff format --check kaggle_digits tests benchmarks

format: $(STAMP)  ## ruff format and autofix
	$(BIN)/ruff format kaggle_digits tests benchmarks
	$(BIN)/ruff check --fix kaggle_digits tests benchmarks

bench: $(STAMP)  ## NumPy vs PyTorch CPU on data/train.csv (installs torch==2.13.0 into .venv)
	$(BIN)/python -m pip install --quiet 'torch==2.13.0'
	$(BIN)/python benchmarks/bench_train.py --preset mlp $(ARGS)
	$(BIN)/python benchmarks/bench_train.py --preset cnn --limit 12800 $(ARGS)
	$(BIN)/python benchmarks/profile_layers.py --preset cnn

bench-smoke: $(STAMP)  ## run every benchmark script tiny on the bundled sample, to see each still works
	bash benchmarks/smoke.sh $(BIN)/python

clean:  ## remove build and cache artefacts (build/, caches); .venv, runs and submissions are kept
	rm -rf build *.egg-info .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

clean-venv:  ## remove .venv too (the next target rebuilds it)
	rm -rf $(VENV)

delete-runs:  ## DELETE every trained run in runs/ and every submission CSV in submissions/ (models included)
	rm -rf runs
	find submissions -name '*.csv' -delete

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:[^#]*## /\t/' | awk -F'\t' '{printf "  make %-12s %s\n", $$1, $$2}'
