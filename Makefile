# mqcron: run `make help` for the targets.

SHELL := /bin/bash
GO ?= go
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

# Ports of the servers that `make test` starts; they differ from the
# `make run` defaults so that both can run at the same time.
TEST_PORTS := --stomp-port 61623 --dynamo-port 8010 --mqtt-port 1893

.PHONY: help deps run test test-unit lint build clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## install Debian, npm and Go dependencies that are missing
	@scripts/install-deps.sh

run: deps build ## run mqcron locally: ActiveMQ, dynalite, mosquitto, the API on :8080 and the dispatcher
	@exec build/mqcron local $(ARGS)

test: deps ## start the local servers on test ports and run every test
	$(GO) vet ./...
	$(GO) run ./cmd/mqcron servers $(TEST_PORTS) -- $(GO) test -count=1 -timeout 30m ./...

test-unit: ## run the tests that need no servers
	$(GO) test -count=1 ./...

build: ## build the mqcron command into build/
	$(GO) build -o build/mqcron ./cmd/mqcron

clean: ## remove build output and local server data
	rm -rf build cdk.out .local

-include mk/*.mk
