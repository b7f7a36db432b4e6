# The commands a developer and CI run. `make test` is what .ci/run runs.
GO ?= go

.PHONY: build test vet fuzz bench

build:
	$(GO) build -o bin/weft ./cmd/weft

vet:
	$(GO) vet ./...

# test runs vet and the whole suite under the race detector. The end-to-end tests that
# need network namespaces and iptables run as root (CI is root); elsewhere set
# WEFT_SKIP_PRIVILEGED=1 to skip them explicitly.
test: vet
	$(GO) test -race -count=1 ./...

# fuzz runs each fuzz target briefly.
fuzz:
	$(GO) test -run XXX -fuzz FuzzReadRequest -fuzztime 20s ./internal/proxy/http1/

bench:
	$(GO) test -run XXX -bench . -benchmem ./internal/proxy/...
