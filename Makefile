# Every target installs what it needs into .venv/ from the hash-pinned locks.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run test install eval bench bench-quick wrk lint audit-deps screenshots spec-sync lock

$(STAMP): requirements-dev.lock requirements-bootstrap.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements-bootstrap.lock
	$(BIN)/uv pip sync -q --python $(BIN)/python --require-hashes --compile-bytecode requirements-dev.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --require-hashes -r requirements-bootstrap.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps --no-build-isolation -e .
	# bytecode now, so that no start reads source (this machine sets PYTHONDONTWRITEBYTECODE)
	$(BIN)/python -m compileall -q service bench
	touch $(STAMP)

install: $(STAMP)

# axe-core for the browser tests, exactly as package-lock.json pins it. Without npm the
# browser tests skip locally; on CI (.ci/run) they fail instead.
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the browser tests will skip"; fi

run: $(STAMP)
	$(BIN)/homework migrate
	$(BIN)/homework demo
	$(BIN)/homework serve --host 127.0.0.1 --port 8000

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

eval: $(STAMP)
	$(BIN)/python -m bench.eval_selection
	$(BIN)/python -m bench.eval_validator

bench: $(STAMP) wrk
	$(BIN)/python -m bench.run

bench-quick: $(STAMP) wrk
	$(BIN)/python -m bench.run --quick

# S4's load generator (Debian's wrk); without it S4 falls back to a Python loader
wrk:
	@command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null 2>&1 || \
		echo "wrk could not be installed: S4 uses the Python loader (more CPU per request)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy service

# Re-resolve the hash-pinned locks after editing requirements*.in; versions already locked
# stay where they are unless an .in file moves them.
lock: $(STAMP)
	$(BIN)/uv pip compile requirements.in --generate-hashes --no-header --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile requirements.in requirements-dev.in --generate-hashes --no-header --python-version 3.11 -o requirements-dev.lock

audit-deps: $(STAMP)
	bash .ci/audit-deps

# Re-draw docs/screenshots/*.png from the browser test of the whole loop (Debian's Chromium).
screenshots: $(STAMP) $(NODE_STAMP)
	HOMEWORK_SCREENSHOTS=1 $(BIN)/pytest -m browser tests/browser/test_loop.py

# The shared spec's catalog and dev sets, copied into tests/data/ so a clone tests alone.
spec-sync:
	cp ../shared/spec/catalog.md ../shared/eval/selection_dev.jsonl ../shared/eval/validator_dev.jsonl tests/data/
