# duplex: `make run` starts the chat server, `make test` installs what the tests need and runs them all.
SHELL := /bin/bash
GO ?= go
ADDR ?= localhost:8080

.PHONY: run test check deps race vet fmt-check fuzz calibrate

run:
	$(GO) run ./cmd/chat -addr $(ADDR)

# test installs the outside peers the interop tests need (when missing), then runs every check.
test: deps check

check: vet fmt-check race

deps:
	./scripts/install-peers.sh

vet:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Nested modules hold tests whose peers (browsers, other libraries) stay out of the library's go.mod.
MODULES := $(patsubst %/go.mod,%,$(shell find . -name go.mod -not -path './.git/*' -not -path '*/testdata/*' | sort))

race:
	@set -e; for m in $(MODULES); do \
		echo "== $$(date -u +%T) go test -race $$m"; \
		(cd $$m && DUPLEX_REQUIRE_PEERS=1 $(GO) test -race -count=1 -timeout 20m ./...); \
	done
	@echo "== every Autobahn case, sections 12 and 13 whole (too slow under -race)"
	$(GO) test -count=1 -timeout 30m -run '^TestConformance' ./autobahn/

# fuzz runs every fuzz target (./fuzz and the few beside their package's code) for FUZZTIME each, one at a time
# (one target for an hour: scripts/fuzz.sh 1h FuzzParseHeader).
FUZZTIME ?= 20s
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

# calibrate runs the Autobahn suite against gorilla/websocket and coder/websocket
# and compares its verdicts with the original suite's, kept in autobahn/calibrate/testdata/reference.
calibrate:
	./autobahn/calibrate/run.sh
