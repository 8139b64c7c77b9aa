# The two commands: `make run` and `make test`. Everything else is a helper they call.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
PORT ?= 8000

.PHONY: run test venv migrate seed bench clean

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

## Start everything (embedded PostgreSQL and Redis unless configured, migrations, demo programme,
## API, WeChat sandbox) and print the URLs. Ctrl-C stops all of it.
run: $(STAMP)
	PORT=$(PORT) $(BIN)/flask --app wsgi devstack

## Run the whole test suite (embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

migrate: $(STAMP)
	$(BIN)/flask --app wsgi db upgrade

seed: $(STAMP)
	$(BIN)/flask --app wsgi seed-demo

clean:
	rm -rf $(VENV) instance .pytest_cache
