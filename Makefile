# rm-advisor: `make demo` runs the engine on the bundled sample facts; `make test` runs every test.
# Both create .venv on first use, with exactly the versions in requirements/lock.txt, and are safe
# to run again.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/lock.txt
# pip's own hash check: every package in the lock, and nothing else, is installed
PIP_LOCKED := pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)

# setuptools' notice on every editable install ("be careful with folders in your working directory
# with the same name as your package"): here rm_advisor/ is that folder on purpose, its entries are
# symlinks to the very folders the package maps (see [tool.setuptools.package-dir]), so the notice
# says nothing an author can act on. Only that notice is silenced; tests/test_packaging.py fails on
# a deprecated pyproject.toml key.
EDITABLE_QUIET = PYTHONWARNINGS="ignore:Editable installation"

.PHONY: demo workspace test lint test-pg test-latest lock check schema openapi docs messages serve install-check clean bench-env bench-engines

$(STAMP): pyproject.toml $(LOCK)
	rm -rf $(VENV)
	$(PY) -m venv $(VENV)
	$(BIN)/$(PIP_LOCKED)
	$(EDITABLE_QUIET) $(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $(STAMP)

# Refresh the lock file to the newest versions pyproject.toml allows (then run `make test`, commit both).
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml requirements/tools.in --extra dev --generate-hashes \
		--python-version 3.11 --upgrade --quiet -o $(LOCK)

# Bench-only dependencies (CLIPS through clipspy, for bench/engines_bench.py) in a separate venv,
# from the same lock plus requirements/bench.txt (`uv pip compile requirements/bench.in -c $(LOCK)`).
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: pyproject.toml $(LOCK) requirements/bench.txt
	rm -rf $(BENCH_VENV)
	$(PY) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/$(PIP_LOCKED) -r requirements/bench.txt
	$(EDITABLE_QUIET) $(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BENCH_VENV)/bin/pip check
	touch $@

bench-env: $(BENCH_VENV)/.installed

# rm-advisor beside CLIPS, plain Python and pandas masks on one synthetic workload (README: "Engines side by side").
bench-engines: bench-env
	$(BENCH_VENV)/bin/python bench/engines_bench.py

# The suite against the newest versions pyproject.toml allows, in a separate venv, so that a
# dependency release that breaks rm-advisor is seen before users see it (README: how often).
test-latest:
	rm -rf .venv-latest
	$(PY) -m venv .venv-latest
	.venv-latest/bin/pip install --quiet --disable-pip-version-check --upgrade pip setuptools wheel
	$(EDITABLE_QUIET) .venv-latest/bin/pip install --quiet --disable-pip-version-check --upgrade --upgrade-strategy eager -e ".[dev]"
	mkdir -p build && .venv-latest/bin/pip freeze --exclude-editable > build/latest-versions.txt
	.venv-latest/bin/ruff check .
	.venv-latest/bin/mypy
	.venv-latest/bin/python -m pytest

demo: $(STAMP)
	$(BIN)/rm-advisor demo --learning
	$(BIN)/rm-advisor batch --out build/demo

# The manager workspace on the sample portfolio: logs a batch run into build/workspace-demo.db, adds the
# demo accounts (README: "The manager workspace") and serves http://127.0.0.1:8000/app/ until Ctrl-C.
workspace: $(STAMP)
	$(BIN)/rm-advisor workspace-demo

# The source documents sit in ../shared beside the project in CI; where they are, quotes are checked too.
SEEDS = ../shared/domain/seeds
check: $(STAMP)
	$(BIN)/rm-advisor check rules $(if $(wildcard $(SEEDS)),--documents $(SEEDS))

schema: $(STAMP)
	$(BIN)/rm-advisor schema --out rules/rules.schema.json
	$(BIN)/rm-advisor scenario-schema --out rules/scenarios.schema.json
	$(BIN)/rm-advisor policies schema --out rules/policies.schema.json
	$(BIN)/rm-advisor experiment-schema --out rules/experiment.schema.json
	$(BIN)/rm-advisor coaching-schema --out knowledge_base/coaching_from_clients.schema.json
	$(BIN)/rm-advisor arbitration-schema --out rules/arbitration.schema.json

# The committed OpenAPI spec of the HTTP API; tests/api/test_openapi.py fails when it drifts.
openapi: $(STAMP)
	$(BIN)/rm-advisor openapi --out api/openapi.json

# docs/error-codes.md from engine/errors.py:CODE_GROUPS; tests/docs/test_error_codes.py fails when it drifts.
# docs/document-coverage.md from docs/document-coverage.yaml (and the open cases); tests/docs/test_document_coverage.py.
docs: $(STAMP)
	$(BIN)/python -c "from rm_advisor.engine.errors import codes_markdown; print(codes_markdown(), end='')" > docs/error-codes.md
	$(BIN)/python -c "from pathlib import Path; from rm_advisor.engine.authoring.document_coverage import markdown_from_texts; \
		d = Path('docs'); o = d / 'open-cases.scenarios.yaml'; \
		print(markdown_from_texts((d / 'document-coverage.yaml').read_text(encoding='utf-8'), \
		o.read_text(encoding='utf-8') if o.exists() else None), end='')" > docs/document-coverage.md

# The zh/en message catalogue (engine/locale/*/LC_MESSAGES/messages.po): extract every marked string
# from the sources and the report template, then add new ones to both catalogues and drop the unused
# ones; translate the new zh entries (msgstr) and commit. tests/engine/test_messages.py fails until then.
messages: $(STAMP)
	mkdir -p build
	$(BIN)/pybabel -q extract -F engine/locale/babel.cfg -k L_ --no-location --sort-output \
		--omit-header --ignore-dirs ".* _* build" -o build/messages.pot .
	for lang in zh en; do \
		test -f engine/locale/$$lang/LC_MESSAGES/messages.po \
			|| $(BIN)/pybabel -q init -i build/messages.pot -d engine/locale -l $$lang; \
		$(BIN)/pybabel -q update -i build/messages.pot -d engine/locale -l $$lang --no-fuzzy-matching \
			--ignore-obsolete --omit-header; \
	done

serve: $(STAMP)
	$(BIN)/rm-advisor serve

# The browser tests (tests/web) drive Debian's Chromium; .ci/with-chromium installs it with CJK fonts
# when it is missing and this user is root. Screenshots go to build/test-artefacts/screenshots/.
# The tests run in one process per core (pytest-xdist), each test file whole in one of them.
test: lint
	.ci/with-chromium $(BIN)/python -m pytest -n auto --dist loadfile
	$(MAKE) --no-print-directory install-check

# ruff and mypy --strict, configured in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The same with a throwaway PostgreSQL server on loopback, as CI runs it (.ci/run).
test-pg:
	.ci/with-postgres $(MAKE) --no-print-directory test

# A plain, non-editable install into a fresh venv must find the bundled rules and knowledge base.
install-check: $(STAMP)
	rm -rf build/install-check && mkdir -p build/install-check
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir build/install-check/dist .
	$(PY) -m venv build/install-check/venv
	build/install-check/venv/bin/$(PIP_LOCKED)
	build/install-check/venv/bin/pip install --quiet --disable-pip-version-check --no-deps build/install-check/dist/*.whl
	build/install-check/venv/bin/pip check
	cd build/install-check && venv/bin/rm-advisor check && venv/bin/rm-advisor demo --lang en > demo.txt \
		&& grep -q "guide_to_network_ordering" demo.txt \
		&& venv/bin/rm-advisor batch --sample-clients 200 --out batch > batch.txt && test -s batch/report.html \
		&& echo "install-check: OK (non-editable install finds bundled rules, knowledge base and report template)"
	cd build/install-check && venv/bin/rm-advisor check --lang zh > check-zh.txt && grep -q "通过：" check-zh.txt \
		&& echo "install-check: OK (the zh/en message catalogue is installed)"
	cd build/install-check && venv/bin/rm-advisor openapi > openapi.json && grep -q '"/v1/decisions"' openapi.json \
		&& echo "install-check: OK (the HTTP API is installed)"
	cd build/install-check && venv/bin/python -c "from rm_advisor.web import STATIC, TEMPLATES; \
		assert (TEMPLATES / 'week.html.j2').is_file() and (STATIC / 'app.css').is_file() \
		and (STATIC / 'vendor' / 'htmx.min.js').is_file(), 'workspace pages not installed'" \
		&& echo "install-check: OK (the workspace pages and their vendored assets are installed)"
	cd build/install-check && venv/bin/rm-advisor decide ../../knowledge_base/samples/demo_facts.yaml \
		--db sqlite:///logged.db --json > logged.json && grep -q '"id": "d-' logged.json \
		&& echo "install-check: OK (a decision log is migrated and written)"
	mkdir -p build/install-check/host/api build/install-check/host/store
	echo 'NAME = "the host application'"'"'s own api"' > build/install-check/host/api/__init__.py
	echo 'NAME = "the host application'"'"'s own store"' > build/install-check/host/store/__init__.py
	cd build/install-check/host && ../venv/bin/python -c "import api, store; \
		from rm_advisor.engine import Advisor; from rm_advisor.api.app import create_app; import rm_advisor.store; \
		assert api.NAME.endswith('own api') and store.NAME.endswith('own store'), (api, store); \
		assert 'site-packages' in rm_advisor.store.__file__; create_app; \
		import yaml; facts = yaml.safe_load(open('../../../knowledge_base/samples/demo_facts.yaml', encoding='utf-8')); \
		decision = Advisor.load().decide(facts); assert decision.clients, decision; print(decision.revision)" > revision.txt \
		&& test -s revision.txt \
		&& echo "install-check: OK (the library imports as rm_advisor.* beside a host's own api and store packages)"

clean:
	rm -rf $(VENV) .venv-latest build *.egg-info
