# Ambassador: `make demo` and `make test` install everything they need first (`make install`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
VENDOR := plugin/static/vendor
CATALOGS := $(wildcard locales/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

.PHONY: install demo test lint messages catalogs clean chromium

install: $(BIN)/.installed $(VENDOR)/.installed $(COMPILED)

$(BIN)/.installed: setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Ambassador needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR)/.installed: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp node_modules/@microsoft/teams-js/dist/umd/MicrosoftTeams.min.js $(VENDOR)/teams-js.min.js
	cp node_modules/@fluentui/web-components/dist/web-components.min.js $(VENDOR)/fluent-web-components.min.js
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chart.umd.min.js
	touch $@

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(BIN)/.installed
	$(BIN)/pybabel compile --statistics -l $* -i $< -o $@

demo: install
	AMBASSADOR_DEMO=1 $(BIN)/flask --app wsgi demo --port $(PORT)

# Browser tests drive Debian's Chromium through Playwright (never a downloaded browser build).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "browser tests need Chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

test: install chromium
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .

# Extract marked strings and merge them into the catalogs (then translate locales/nl by hand).
messages: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output -o locales/messages.pot .
	for lang in en nl; do \
	  if [ -f locales/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update -i locales/messages.pot -d locales -l $$lang --no-fuzzy-matching; \
	  else $(BIN)/pybabel init -i locales/messages.pot -d locales -l $$lang; fi; \
	done

clean:
	rm -rf $(VENV) node_modules $(VENDOR) locales/*/LC_MESSAGES/*.mo

# Helpers working in parallel keep their Dutch in locales/pending/*.json; run as
# `flock /tmp/ambassador-catalog.lock make catalogs` so two of them never rewrite the catalogs at once.
catalogs: messages
	$(BIN)/python scripts/fill_english_catalog.py
	$(BIN)/python scripts/apply_pending_translations.py
	for lang in en nl; do $(BIN)/pybabel compile -l $$lang -i locales/$$lang/LC_MESSAGES/messages.po -o locales/$$lang/LC_MESSAGES/messages.mo; done
