# make demo   set up and tune the default experiment (CNN on scikit-learn's digits)
# make test   set up and run the test suite
# make bench  CPU speed benchmark: overhead ratio, plain Ray Tune comparison, startup (BENCHMARKS.md)
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# The CPU wheel of torch that ships on this machine; the package itself only asks for a range.
TORCH_PIN ?= torch==2.13.0

.PHONY: setup demo test bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check $(TORCH_PIN)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test,bohb,mlflow,bench]'
	$(BIN)/python -m tuner.models.aeon_fronts
	touch $@

demo: setup
	$(BIN)/tuner run experiments/digits_cnn.toml --overwrite

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/speed.py

clean:
	rm -rf $(VENV) results .pytest_cache
