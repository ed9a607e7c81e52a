# The two commands of README.md: `make demo` (the main job) and `make test` (the whole suite).
# Both install what they need first (scripts/setup.sh: Debian packages and the .venv).
VENV := .venv/bin
REPORTS ?= reports
DEMO_HOSTS ?= 3
DEMO_RELEASE ?= 13

.PHONY: setup demo test lint unit integration bench

setup:
	@scripts/setup.sh

demo: setup
	@scripts/demo.sh "$(DEMO_HOSTS)" "$(DEMO_RELEASE)" "$(REPORTS)"

# Two workers, each with a lab of its own; a test file stays on one worker (its module-scoped lab).
PYTEST_PARALLEL := -n 2 --dist loadfile

test: setup lint
	$(VENV)/pytest -q $(PYTEST_PARALLEL) --durations=15 tests

lint: setup
	$(VENV)/ruff check .
	$(VENV)/mypy
	$(VENV)/lint-imports --no-cache
	$(VENV)/yamllint -s .
	PATH="$(CURDIR)/$(VENV):$$PATH" ANSIBLE_CONFIG=$(CURDIR)/ansible.cfg $(VENV)/ansible-lint -q --offline --profile production playbooks roles

unit: setup
	$(VENV)/pytest -q tests/unit

integration: setup
	$(VENV)/pytest -q $(PYTEST_PARALLEL) tests/integration

bench: setup
	$(VENV)/python -m bench.lab_and_audit $(DEMO_RELEASE)
	$(VENV)/python -m bench.fleet $(DEMO_RELEASE)
