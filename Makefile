# Two commands on a fresh machine: `make demo` and `make test`. Both set up what is missing first,
# and a second run reinstalls nothing (the stamp below is newer than every install input).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.suite-installed
WORK ?= work

.PHONY: setup test lint demo demo-all clean

setup: $(STAMP)

# Order and flags matter, hence plain pip commands rather than one requirements file:
# - torch/torchvision first, pinned: the verified pair (2.14.1 / 0.29.1) that every other pin was checked with;
# - xtcocotools built from source against the installed numpy 2 (its wheels are built for numpy 1);
# - mmpose without its dependencies: its chumpy requirement does not build, and we use only its
#   codecs, evaluation and dataset modules, whose needs are in requirements/base.txt.
$(STAMP): pyproject.toml requirements/base.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q numpy cython
	$(BIN)/pip install -q --no-build-isolation --no-binary xtcocotools xtcocotools==1.14.3
	$(BIN)/pip install -q --no-deps mmpose==1.3.2
	$(BIN)/pip install -q -r requirements/base.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

# Table 4 of the paper from scratch on built-in synthetic data: SynthHuman, every row's pre-training,
# RLE fine-tuning and its test, then results/table4.md (and .csv, .png) beside the paper's numbers.
# Runs are kept in $(WORK): a second `make demo` launches nothing; a stopped one goes on.
demo: setup
	$(BIN)/python -m suite data skeletons --n 10000 --seed 0 --out $(WORK)/skeletons.npy \
	  --plot $(WORK)/figure7_skeletons.png
	$(BIN)/python -m suite run --table 4 --profile demo --executor local --workdir $(WORK)

# All nine tables on the same synthetic data, as one DAG (each run once, Table 4's included), then
# results/table1.md ... table9.md and results/README.md, the index with the paper's headline checked.
demo-all: setup
	$(BIN)/python -m suite run --table all --profile demo --executor local --workdir $(WORK)

clean:
	rm -rf $(VENV) $(WORK) .pytest_cache .ruff_cache
