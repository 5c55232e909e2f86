# Strata build and test entry points. `make run` and `make test` are the two a newcomer needs.
GO      ?= go
BIN     := bin/strata
PKG     := strata/kernel/version
GIT_SHA := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X $(PKG).GitSHA=$(GIT_SHA) -X $(PKG).BuildDate=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)
# Arguments for `make run`, e.g. make run ARGS="--work-dir /tmp/strata".
ARGS    ?=
# Test timeout for the whole suite; the suite is kept well under it on 2 cores.
TEST_TIMEOUT ?= 40m

.PHONY: all build run test deps unit fuzz bench proto vet clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

## run: build, then start the whole platform on this machine (strata dev).
run: build
	./$(BIN) dev $(ARGS)

## test: install what the tests need, then vet and run every test (race detector on). The fuzz
## targets' seed corpora run as part of the tests; `make fuzz` explores beyond them.
test: deps vet unit

deps:
	bash scripts/install-deps.sh

vet:
	$(GO) vet ./...

unit: build
	STRATA_BIN=$(CURDIR)/$(BIN) $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

## fuzz: run every fuzz target beyond its seed corpus, FUZZTIME each (default 60s); new failing
## inputs land in the package's testdata/fuzz and become seeds.
FUZZTIME ?= 60s
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

## bench: the benchmarks behind BENCHMARKS.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./kernel/...

proto:
	bash scripts/genproto.sh

clean:
	rm -rf bin
