# Two commands matter on a fresh clone: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint unit compiled chromium postgresql bench soak clean

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

# mypy checks what [tool.mypy] names in pyproject.toml: src (strict), tests, tools, benchmarks.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/mypy

# PostgreSQL from the machine's packages (Debian's), installed if missing: the PostgreSQL store's
# tests and benchmark run against a throwaway server that tools/pgserver.py starts and stops.
# apt waits up to 10 minutes for another apt (unattended upgrades) to release its lock.
APT_WAIT := -o DPkg::Lock::Timeout=600
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "Installing PostgreSQL from the machine's packages..."; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get $(APT_WAIT) update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get $(APT_WAIT) install -y -qq --no-install-recommends postgresql >/dev/null; }

# The tests get a throwaway PostgreSQL server's URL in LEDGERRUN_TEST_PG; it is stopped (and its
# data deleted) however the tests end. Three workers on two cores: the end-to-end tests spend much
# of their time waiting on a sandbox's latency or rate limit. worksteal: a worker that runs out of
# tests takes queued ones from another (tests/conftest.py runs the long suites first). The sources
# are compiled first: the end-to-end tests start ledgerrun a thousand times, and a shell that sets
# PYTHONDONTWRITEBYTECODE would have each start compile every module again (Python still reads
# what is compiled). The soak-marked variants run in make soak.
PYTEST := $(BIN)/python tools/pgserver.py run -- $(BIN)/pytest -n 3 --dist worksteal -q
compiled: $(STAMP)
	@$(BIN)/python -m compileall -q src tests tools >/dev/null

unit: $(STAMP) chromium postgresql compiled
	$(PYTEST) -m "not soak"

# The browser tests need Debian's Chromium (tools/ensure_chromium.sh installs it if missing).
chromium:
	@sh tools/ensure_chromium.sh

test: lint unit

bench: $(STAMP) postgresql
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/memory.py
	$(BIN)/python benchmarks/sandbox.py
	$(BIN)/python tools/pgserver.py run --durable -- $(BIN)/python benchmarks/store.py
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/instructions.py
	$(BIN)/python benchmarks/live_limits.py
	$(BIN)/python benchmarks/transport.py
	$(BIN)/python benchmarks/guard.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/web.py

# The long runs; make test runs the same scenarios, shorter: the soak-marked tests (the other
# store, faults together, more exports; about a minute), then 10,000 mixed sandbox requests from
# 16 threads; 1,500 rows under 30 SIGKILLs; 1,500 rows under 10% errors, lock timeouts and dropped
# answers together; five minutes of ingest fuzzing. CI runs it with `.ci/run soak`.
soak: $(STAMP) chromium postgresql compiled
	$(PYTEST) -m soak
	$(BIN)/python tools/soak.py sandbox --threads 16 --per-thread 625
	$(BIN)/python -m tools.chaos crash --rows 1500 --kills 30 --seed 7
	$(BIN)/python -m tools.chaos faults --rows 1500 --seed 7
	$(BIN)/python tools/fuzz_ingest.py --seconds 300

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
