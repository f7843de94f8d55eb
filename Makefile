# rm-advisor: `make demo` runs the engine on the bundled sample facts; `make test` runs every test.
# Both create .venv on first use and are safe to run again.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-pg check schema openapi serve install-check clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rm-advisor demo
	$(BIN)/rm-advisor batch --out build/demo

check: $(STAMP)
	$(BIN)/rm-advisor check rules

schema: $(STAMP)
	$(BIN)/rm-advisor schema --out rules/rules.schema.json
	$(BIN)/rm-advisor scenario-schema --out rules/scenarios.schema.json
	$(BIN)/rm-advisor policies schema --out rules/policies.schema.json

# The committed OpenAPI spec of the HTTP API; tests/api/test_openapi.py fails when it drifts.
openapi: $(STAMP)
	$(BIN)/rm-advisor openapi --out api/openapi.json

serve: $(STAMP)
	$(BIN)/rm-advisor serve

test: $(STAMP)
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory install-check

# The same with a throwaway PostgreSQL server on loopback, as CI runs it (.ci/run).
test-pg:
	.ci/with-postgres $(MAKE) --no-print-directory test

# A plain, non-editable install into a fresh venv must find the bundled rules and knowledge base.
install-check: $(STAMP)
	rm -rf build/install-check && mkdir -p build/install-check
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir build/install-check/dist .
	$(PY) -m venv build/install-check/venv
	build/install-check/venv/bin/pip install --quiet build/install-check/dist/*.whl
	cd build/install-check && venv/bin/rm-advisor check && venv/bin/rm-advisor demo --lang en > demo.txt \
		&& grep -q "guide_to_network_ordering" demo.txt \
		&& venv/bin/rm-advisor batch --sample-clients 200 --out batch > batch.txt && test -s batch/report.html \
		&& echo "install-check: OK (non-editable install finds bundled rules, knowledge base and report template)"
	cd build/install-check && venv/bin/rm-advisor openapi > openapi.json && grep -q '"/v1/decisions"' openapi.json \
		&& echo "install-check: OK (the HTTP API is installed)"
	cd build/install-check && venv/bin/rm-advisor decide ../../knowledge_base/samples/demo_facts.yaml \
		--db sqlite:///logged.db --json > logged.json && grep -q '"id": "d-' logged.json \
		&& echo "install-check: OK (a decision log is migrated and written)"

clean:
	rm -rf $(VENV) build *.egg-info
