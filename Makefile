# selfserve: `make run` serves the app on the embedded defaults; `make test` runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := app

.PHONY: setup run test lint format bench clean docs screenshots image image-check

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/pybabel compile --statistics -D selfserve -d selfserve/locale
	touch $(STAMP)

run: setup
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app campaigns import demo/campaigns.toml
	@echo
	@echo "  selfserve is running at http://127.0.0.1:5000"
	@echo "  Phone simulator (text SPRING): http://127.0.0.1:5000/dev/phone"
	@echo "  Marketer console: http://127.0.0.1:5000/admin/"
	@echo "    create your log-in first: $(BIN)/flask --app app users create you@example.com"
	@echo "  Stadium screen (rotating QR): $$($(BIN)/flask --app app posters screen-url halftime)"
	@echo "  Twilio webhook: POST http://127.0.0.1:5000/webhooks/twilio/sms"
	@echo "  Talon.One: built-in sandbox unless TALON_API_KEY is set"
	@echo "  worker: flask --app app worker runs beside it (codes owed by SMS); Ctrl-C stops both"
	@echo
	@# The worker runs in the background and is stopped with the web server, however it ends.
	@trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask --app app worker & worker=$$!; \
	$(BIN)/flask --app app run --host 127.0.0.1 --port 5000

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# pytest-xdist: one worker process per CPU (2 on CI), handing out tests as workers free up
# (worksteal: a few tests take 10-30 s). `make test PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= auto

test: setup lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal

# The container image (Dockerfile; podman or docker), and its end-to-end check.
image:
	scripts/image-build selfserve

image-check: setup
	scripts/image-check

bench: setup
	$(BIN)/python bench/run.py

# The docs site (mkdocs.yml, docs/): --strict fails on a broken link or a missing page.
# tests/test_docs.py runs the same build, so `make test` fails on it too.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# README and docs pictures, taken from the running demo in Chromium: docs/images/*.png.
screenshots: setup
	$(BIN)/python scripts/screenshots

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache site
