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
# Build tags every go command gets: the podman bindings (kernel/containerizer/podman) build
# without cgo libraries only with these. `make -s print-tags` prints them for a plain go command.
TAGS    ?= remote exclude_graphdriver_btrfs btrfs_noversion exclude_graphdriver_devicemapper containers_image_openpgp

.PHONY: all build run test deps unit fuzz bench proto vet clean print-tags

all: build

build:
	$(GO) build -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o $(BIN) .

## run: build, then start the whole platform on this machine (strata dev).
run: build
	./$(BIN) dev $(ARGS)

## test: install what the tests need, then vet and run every test (race detector on). The fuzz
## targets' seed corpora run as part of the tests; `make fuzz` explores beyond them.
test: deps vet unit

deps:
	bash scripts/install-deps.sh

vet:
	$(GO) vet -tags "$(TAGS)" ./...

unit: build
	STRATA_BIN=$(CURDIR)/$(BIN) $(GO) test -tags "$(TAGS)" -race -count=1 -timeout $(TEST_TIMEOUT) ./...

## fuzz: run every fuzz target beyond its seed corpus, FUZZTIME each (default 60s); new failing
## inputs land in the package's testdata/fuzz and become seeds.
FUZZTIME ?= 60s
fuzz:
	TAGS="$(TAGS)" bash scripts/fuzz.sh $(FUZZTIME)

## bench: the benchmarks behind BENCHMARKS.md.
bench:
	$(GO) test -tags "$(TAGS)" -run '^$$' -bench . -benchmem ./kernel/...

proto:
	bash scripts/genproto.sh

print-tags:
	@echo $(TAGS)

clean:
	rm -rf bin
