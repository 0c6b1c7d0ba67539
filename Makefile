# The front door: `make up` runs the platform, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
export CRM_STATE_DIR ?= $(CURDIR)/.local
SERVICES := partners deals interactions claims pricing notifications
PROTOS := $(shell find proto -name '*.proto' | sort)
GENERATED := libs/generated
LOCAL := deploy/local

.PHONY: help install proto up down stack stack-down status services services-stop demo asyncapi \
        test test-unit test-flows lint fmt bench token grpcurl migration clean

help:
	@echo "make up      install, start Kafka, PostgreSQL, Redis and the six services, load demo data"
	@echo "make test    the whole test suite (starts what it needs)"
	@echo "make down    stop everything make up started"
	@echo "make bench   benchmarks; they print their figures"
	@echo "make status  what is running"

# --- Python environment ------------------------------------------------------------
$(VENV)/.installed: requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	printf '%s\n' "$(CURDIR)/libs" "$(CURDIR)/$(GENERATED)" $(foreach s,$(SERVICES),"$(CURDIR)/services/$(s)") \
	    > "$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/crm-platform.pth"
	touch $@

install: $(VENV)/.installed proto

# Generated code is never committed: it is rebuilt whenever a .proto is newer, so it
# cannot go stale.
$(GENERATED)/.stamp: $(PROTOS) $(VENV)/.installed
	@mkdir -p .local
	@# Built aside and swapped in under a lock, so a running test never sees it half-made.
	flock .local/proto.lock bash -c 'set -e; tmp=$$(mktemp -d libs/.generated.XXXX); \
	    PATH="$(CURDIR)/$(BIN):$$PATH" $(PYTHON) -m grpc_tools.protoc -I proto \
	    --python_out=$$tmp --grpc_python_out=$$tmp \
	    --mypy_out=quiet:$$tmp --mypy_grpc_out=quiet:$$tmp $(PROTOS); \
	    touch $$tmp/.stamp; rm -rf $(GENERATED).old; [ ! -d $(GENERATED) ] || mv $(GENERATED) $(GENERATED).old; \
	    mv $$tmp $(GENERATED); rm -rf $(GENERATED).old'

proto: $(GENERATED)/.stamp

# --- Local stack ---------------------------------------------------------------------
stack:
	$(LOCAL)/postgres.sh install
	$(LOCAL)/redis.sh install
	$(LOCAL)/kafka.sh install
	$(LOCAL)/postgres.sh start
	$(LOCAL)/redis.sh start
	$(LOCAL)/kafka.sh start

stack-down:
	-$(LOCAL)/kafka.sh stop
	-$(LOCAL)/redis.sh stop
	-$(LOCAL)/postgres.sh stop

services: install
	$(PYTHON) -m crm_platform.localrun start $(SERVICES)

services-stop:
	-[ -x $(PYTHON) ] && $(PYTHON) -m crm_platform.localrun stop $(SERVICES)

demo: install
	$(PYTHON) $(LOCAL)/demo_data.py
	$(PYTHON) -m pricing.demo

grpcurl:
	deploy/tools.sh grpcurl >/dev/null

up: install stack services demo grpcurl
	@$(PYTHON) -m crm_platform.localrun info

down: services-stop stack-down

status:
	-$(LOCAL)/postgres.sh status
	-$(LOCAL)/redis.sh status
	-$(LOCAL)/kafka.sh status
	-[ -x $(PYTHON) ] && $(PYTHON) -m crm_platform.localrun status $(SERVICES)

# A bearer token for trying the API by hand: make -s token ROLE=manager
ROLE ?= manager
token: install
	@$(PYTHON) -m crm_platform.localrun token $(ROLE)

# --- Quality -------------------------------------------------------------------------
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install lint stack
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest services

test-flows: install stack
	$(BIN)/pytest tests

bench: install stack
	$(PYTHON) -m bench

# Regenerates services/<s>/asyncapi.yaml; a test fails when one is stale.
asyncapi: install
	$(PYTHON) -m crm_platform.asyncapi write

# A new Alembic revision: make migration SERVICE=partners MSG="add leads"
migration: install stack
	$(LOCAL)/postgres.sh dropdb crm_scratch_$(SERVICE)
	$(LOCAL)/postgres.sh createdb crm_scratch_$(SERVICE)
	$(PYTHON) -m crm_platform.migrations revision services/$(SERVICE) "$(MSG)" \
	    postgresql+asyncpg://crm:crm@127.0.0.1:55432/crm_scratch_$(SERVICE)
	$(LOCAL)/postgres.sh dropdb crm_scratch_$(SERVICE)

clean: down
	rm -rf $(VENV) $(GENERATED) .pytest_cache .ruff_cache
