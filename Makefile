# Every target builds what it needs: .venv is (re)made when missing or when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: demo train download submit test lint format bench clean

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

submit: $(STAMP)  ## upload the newest CSV in submissions/ (make submit ARGS='-m "note" --wait')
	$(BIN)/kaggle-digits submit $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check kaggle_digits tests benchmarks
	$(BIN)/ruff format --check kaggle_digits tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format kaggle_digits tests benchmarks
	$(BIN)/ruff check --fix kaggle_digits tests benchmarks

bench: $(STAMP)  ## NumPy vs PyTorch CPU on data/train.csv (installs torch==2.13.0 into .venv)
	$(BIN)/python -m pip install --quiet 'torch==2.13.0'
	$(BIN)/python benchmarks/bench_train.py --preset mlp $(ARGS)
	$(BIN)/python benchmarks/bench_train.py --preset cnn --limit 12800 $(ARGS)
	$(BIN)/python benchmarks/profile_layers.py --preset cnn

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache runs
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find submissions -name '*.csv' -delete
