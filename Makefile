# radgov: `make run` brings up the demo practice, `make test` runs the tests.
# Both install exactly what requirements.txt pins (with hashes); `make lock` re-pins it on
# purpose after pyproject.toml changes, `make outdated` lists what newer releases exist.
# The lock is the whole closure, so pip installs it with --no-deps and `pip check` proves it
# consistent: resolving again trips pip's extras-with-hashes bug (pypa/pip#9644) whenever a
# newer release of a package required with extras (weasyprint's fonttools[woff]) appears.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.txt
BENCH_LOCK := requirements-bench.txt
UV := $(BIN)/uv
COMPILE = $(UV) pip compile pyproject.toml --group build --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock" --quiet

.PHONY: run test lint bench install lock outdated clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/radgov demo
	$(BIN)/radgov serve --no-migrate --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/pytest -n 2 -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(BENCH_LOCK)
	@status=0; for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || status=1; done; exit $$status

$(UV): $(STAMP)
	$(BIN)/pip install --quiet uv

# re-pin every dependency to the newest release pyproject.toml allows (the benchmarks' extras
# on top of the same pins); review the diff
lock: $(UV)
	$(COMPILE) --upgrade --extra dev -o $(LOCK)
	$(COMPILE) --extra dev --extra bench --constraint $(LOCK) -o $(BENCH_LOCK)

# what is behind: the lock against what `make lock` would pin today (changes nothing)
outdated: $(UV)
	@$(COMPILE) --upgrade --extra dev --no-header --no-annotate 2>/dev/null \
		| grep -E '^[A-Za-z0-9_.-]+==' > $(VENV)/lock-today.txt
	@grep -E '^[A-Za-z0-9_.-]+==' $(LOCK) | diff - $(VENV)/lock-today.txt \
		| sed -n 's/^> /newer: /p; s/^< /locked: /p' ; true

clean:
	rm -rf $(VENV) var
