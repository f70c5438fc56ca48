# Pathlight: make run starts the demo server, make test runs every test.
GO        ?= go
BIN       ?= bin/pathlight
# make run's address: ADDR=host:port on the command line, else PATHLIGHT_ADDR from the
# environment (as `pathlight serve` reads it), else the default.
ADDR      ?= $(or $(PATHLIGHT_ADDR),127.0.0.1:8080)
# Likewise its data directory and rules: DATA= and RULES=, else PATHLIGHT_DATA and PATHLIGHT_RULES.
DATA      ?= $(or $(PATHLIGHT_DATA),./data)
RULES     ?= $(or $(PATHLIGHT_RULES),./rules)
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
PKGS      = ./...
FUZZTIME ?= 30s
BENCHTIME ?= 1s

.PHONY: run build test test-go test-js check fmt vet staticcheck race bench bench-load bench-load-go bench-scale bench-cluster fuzz clean deps-js

## run: start the server with the demo shop, Badger under ./data and the example rules
run:
	$(GO) run ./cmd/pathlight serve --demo --addr $(ADDR) --data $(DATA) --rules $(RULES)

## build: build the binary into bin/
build:
	$(GO) build -trimpath -o $(BIN) ./cmd/pathlight

## test: every Go test, then the snippet's unit and browser tests (installs npm packages, when missing or older than the lockfile, and Chromium)
test: test-go test-js

test-go:
	$(GO) test -count=1 $(PKGS)

test-js: deps-js
	cd sdk-js && npm test
	cd internal/dashboard/web && npm test

deps-js:
	.ci/ensure-chromium
	cd sdk-js && (test node_modules/.package-lock.json -nt package-lock.json || npm ci --no-audit --no-fund)
	cd internal/dashboard/web && (test node_modules/.package-lock.json -nt package-lock.json || npm ci --no-audit --no-fund)

## check: formatting, vet, staticcheck, race-enabled tests (the import-graph test is among them)
check: fmt vet staticcheck race

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run $(STATICCHECK) $(PKGS)

race:
	$(GO) test -race -count=1 $(PKGS)

## bench: Go benchmarks of every hot path, then the end-to-end load run against a bare handler
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./internal/...
	$(MAKE) bench-load

## bench-load: the real binary and a bare 204 server as processes, driven by wrk and an open-loop
## client (ROUNDS, PHASE, OPEN seconds, CONNS, PORT; BASE=<git revision> adds that build)
bench-load:
	internal/bench/bench-load.sh

## bench-cluster: one node in cluster mode on a one-server NATS against the embedded mode, as processes driven
## by wrk (ROUNDS, PHASE, CONNS, PORT, LEASE); then a fresh node's replay rate and its takeover of a killed node's shards
bench-cluster:
	internal/bench/bench-cluster.sh

## bench-load-go: the in-process load run (Go load generator; checks every acknowledged event)
bench-load-go:
	$(GO) test -run '^$$' -bench 'Load' -benchtime 1x -count 1 ./internal/server/ -load

## bench-scale: fill data directories with SCALE simulated visitors over 365 days, restart the server on each and time every report
## (SCALE_SPIN=1: the hit rounds' control, a process at nice 19 spinning a core instead of reports)
SCALE     ?= 100000,1000000
SCALE_DIR ?=
SCALE_SPIN ?=
bench-scale:
	$(GO) test -run '^$$' -bench 'Scale' -benchtime 1x -count 1 -timeout 12h ./cmd/pathlight/ -scale $(SCALE) $(if $(SCALE_DIR),-scale.dir $(abspath $(SCALE_DIR))) $(if $(SCALE_SPIN),-scale.spin)

## fuzz: run each fuzz target for FUZZTIME
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeBatch$$' -fuzztime $(FUZZTIME) ./internal/event/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRecord$$' -fuzztime $(FUZZTIME) ./internal/event/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeDecide$$' -fuzztime $(FUZZTIME) ./internal/event/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/journey/
	$(GO) test -run '^$$' -fuzz '^FuzzRequestFraming$$' -fuzztime $(FUZZTIME) ./internal/server/

clean:
	rm -rf bin data
