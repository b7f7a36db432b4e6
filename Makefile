# The commands a developer and CI run. `make test` is what .ci/run runs.
GO ?= go

.PHONY: build test vet fuzz bench bench-quick

build:
	$(GO) build -o bin/weft ./cmd/weft

vet:
	$(GO) vet ./...

# test runs vet and the whole suite under the race detector. The end-to-end tests that
# need network namespaces and iptables run as root (CI is root); elsewhere set
# WEFT_SKIP_PRIVILEGED=1 to skip them explicitly. The Kubernetes tests need the
# binaries hack/kube/build.sh builds (.ci/run builds them); elsewhere set
# WEFT_SKIP_KUBE=1 to skip them explicitly.
# It ends with the benchmark harness in quick mode, so that the harness never rots (it
# checks that every scenario ran and produced numbers, not that they are good).
test: vet
	$(GO) test -race -count=1 ./...
	$(MAKE) bench-quick

# fuzz runs each fuzz target briefly.
fuzz:
	$(GO) test -run XXX -fuzz FuzzReadRequest -fuzztime 20s ./internal/proxy/http1/

# bench runs the Go benchmarks of the hot paths; `go run ./bench all` runs the scenarios
# of docs/benchmarks against nginx and haproxy.
bench:
	$(GO) test -run XXX -bench . -benchmem ./internal/proxy/...

bench-quick:
	WEFT_BENCH_QUICK=1 $(GO) test -count=1 -timeout 20m -run TestQuick ./bench
