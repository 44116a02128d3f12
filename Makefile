# chload: build, test, demo and benchmarks. Every target that needs a server
# installs and starts it with internal/testenv/chenv.sh, and stops it after.
SHELL := /bin/bash
GO ?= go
BIN := bin/chload
CHENV := bash internal/testenv/chenv.sh
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: build test test-unit fuzz test-matrix demo bench testenv-up testenv-down deps deps-check vet fmt clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/chload

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

# What every target needs, installed when missing (Debian 12; see README
# "Development"): `make deps` installs it, `make deps-check` only says what
# would be installed. Targets install first and build after, so a missing or
# old Go is reported with how to get it.
deps:
	$(CHENV) install all

deps-check:
	CHLOAD_INSTALL_DRY_RUN=1 $(CHENV) install all

# Every test, servers included: install what is missing, start the single node
# and the 2x2 cluster from empty data, run the tests with the race detector,
# stop the servers. Packages run one at a time (-p 1): the failover tests kill
# and restart cluster nodes, which other packages' cluster tests would feel.
test:
	$(CHENV) install all
	$(MAKE) --no-print-directory build
	$(CHENV) clean all
	$(CHENV) start all
	CHLOAD_E2E=1 $(GO) test -race -count=1 -p 1 -timeout 25m ./... ; rc=$$?; $(CHENV) stop all; exit $$rc

# Every fuzz target for FUZZTIME each, one at a time, no server needed (see
# .ci/fuzz); about 2.5 minutes. FUZZTIME=1m make fuzz for a longer run. A
# target that would need a server goes in FUZZ_SKIP, the reason said here.
FUZZTIME ?= 5s
FUZZ_SKIP ?=
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) FUZZ_SKIP="$(FUZZ_SKIP)" bash .ci/fuzz

# The whole Parquet acceptance matrix (every codec x page version x encoding;
# `make test` runs a pairwise subset), against the single node and DuckDB.
test-matrix:
	$(CHENV) install all
	$(MAKE) --no-print-directory build
	$(CHENV) start single
	CHLOAD_E2E=1 CHLOAD_MATRIX=full $(GO) test -count=1 -timeout 20m ./internal/pqmatrix/ ; rc=$$?; $(CHENV) stop single; exit $$rc

# Unit tests only (no server needed).
test-unit:
	CHLOAD_E2E=0 $(GO) test -count=1 ./...

# The quickstart: a throwaway ClickHouse on its own ports and directory, 200k
# generated rows, validate, dry-run, run, and what landed. It installs only
# what the single node needs (no ZooKeeper, Java, gcc or npm).
DEMO_ENV := CHLOAD_TESTENV_DIR=/tmp/chload-demo CHLOAD_SINGLE_TCP_PORT=19400 CHLOAD_SINGLE_HTTP_PORT=18400 CHLOAD_SINGLE_INTERSERVER_PORT=19409 CHLOAD_SINGLE_TLS_PORT=19449
demo:
	$(CHENV) install single
	$(MAKE) --no-print-directory build
	$(DEMO_ENV) $(CHENV) start single
	CH_PORT=19400 bash examples/quickstart/demo.sh; rc=$$?; $(DEMO_ENV) $(CHENV) stop single; exit $$rc

# Benchmarks: chload against clickhouse-client's Native insert, same rows,
# same run; prints both times, the ratio and chload's peak RSS. Then on the
# 2x2 cluster: chload into a Distributed table against clickhouse-client's
# insert_distributed_sync insert through it (the `bench-cluster:` line).
bench:
	$(CHENV) install all
	$(MAKE) --no-print-directory build
	$(CHENV) start all
	BENCH_CLUSTER=1 bash internal/bench/bench.sh; rc=$$?; $(CHENV) stop all; exit $$rc

testenv-up:
	$(CHENV) install all
	$(CHENV) start all

testenv-down:
	$(CHENV) stop all

clean:
	rm -rf bin
