# Every target bootstraps .venv from the package registries by itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: compile demo test lint typecheck layers pytest bench chaos screenshots lab controlplane prometheus k9s clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Byte-compile the package as a wheel install would: an editable install leaves that to the first
# import, which never writes it where PYTHONDONTWRITEBYTECODE is set (then every launch compiles).
compile: $(STAMP)
	$(BIN)/python -m compileall -q tui/kcrash

demo: compile
	$(BIN)/kcrash --demo

lab: $(STAMP)
	$(BIN)/kcrash lab

test: lint typecheck layers pytest

# etcd, kube-apiserver, kube-controller-manager and kube-scheduler from the modules pinned in
# controlplane/go.mod, into $XDG_CACHE_HOME (default ~/.cache)/kcrash/controlplane/<version>/ (outside the
# clone); reused while the pins are unchanged; a one-line skip where Go is missing.
controlplane:
	@bash controlplane/build.sh

# Debian's prometheus package (prometheus and promtool) for the `prometheus` tests; a one-line skip
# where it cannot be installed (not Debian, not root, no network): those tests are then skipped.
prometheus:
	@bash .ci/prometheus.sh

# k9s from the release pinned in bench/k9s/go.mod, into $XDG_CACHE_HOME (default ~/.cache)/kcrash/k9s/<version>/
# (outside the clone), for `make bench` to measure beside kcrash; reused while the pin is unchanged; one line
# and no error where Go is missing or the build fails (the bench then measures kcrash alone).
k9s:
	@bash bench/k9s/build.sh

lint: $(STAMP)
	$(BIN)/ruff check tui tests bench
	$(BIN)/ruff format --check tui tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -q

bench: compile k9s
	$(BIN)/python bench/run.py

# The full chaos suite against the lab and, where `make controlplane` built it, the real control plane
# (about an hour; WINDOW: seconds the throttling and the 500s last): figures, goals and PASS/MISS in
# docs/reliability.md.
WINDOW ?= 300
chaos: $(STAMP)
	$(BIN)/python bench/chaos.py --window $(WINDOW) --output docs/reliability.md

# ONLY='drill-*' makes only the screenshots of those names (repeat patterns, space-separated).
screenshots: $(STAMP)
	$(BIN)/python -m kcrash.ui.screenshots screenshots $(foreach p,$(ONLY),--only '$(p)')

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
