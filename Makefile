# Two commands matter on a fresh clone: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint unit chromium bench soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The demo's sandbox lives inside the run and starts afresh each time, so its journal and results
# do too. A key is still needed; any sk_test_ key does for the sandbox. Exit 1 is expected: one
# sample row fails for lack of balance, to show what a failure looks like.
demo: $(STAMP)
	@rm -rf out/demo-* state/demo.sqlite*
	@STRIPE_API_KEY=sk_test_ledgerrun_demo $(BIN)/ledgerrun run jobs/demo.toml; test $$? -le 1

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

unit: $(STAMP) chromium
	$(BIN)/pytest -n 2 -q

# The browser tests need Debian's Chromium (tools/ensure_chromium.sh installs it if missing).
chromium:
	@sh tools/ensure_chromium.sh

test: lint unit

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/sandbox.py
	$(BIN)/python benchmarks/run.py

# The long crash and fault runs: 1,500 rows, 30 SIGKILLs; then 10% errors, lock timeouts and
# dropped answers together. make test runs the same scenarios, shorter.
soak: $(STAMP)
	$(BIN)/python -m tests.chaos crash --rows 1500 --kills 30 --seed 7
	$(BIN)/python -m tests.chaos faults --rows 1500 --seed 7

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
