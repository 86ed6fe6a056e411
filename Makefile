# CRM CTI. `make demo` runs the whole system on loopback; `make test` runs
# everything CI checks. Both install missing Debian packages first.
GO       ?= go
GOROOT   := $(shell $(GO) env GOROOT)
VERSION  := $(shell sed -n 's/^  "version": "\(.*\)",/\1/p' manifest.json)
DEB_PKGS := postgresql slapd ldap-utils chromium firefox-esr

.PHONY: all deps build gateway wasm demo test bench chaos failover extension fuzz clean

all: build

# deps installs the Debian packages the devstack and browser tests need,
# skipping what is already there.
deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -x /usr/sbin/slapd ] || missing="$$missing slapd"; \
	command -v ldapsearch >/dev/null 2>&1 || missing="$$missing ldap-utils"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v firefox-esr >/dev/null 2>&1 || missing="$$missing firefox-esr"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "make deps: missing Debian packages:$$missing" >&2; \
	    echo "  run as root: apt-get update && apt-get install -y$$missing" >&2; exit 1; \
	  fi; \
	  echo "make deps: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null || exit 1; \
	fi

build: gateway wasm

gateway:
	$(GO) build -o bin/ ./gateway/cmd/...

wasm:
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-s -w -X main.version=$(VERSION)" -o extension/core.wasm ./wasm
	cp "$(GOROOT)/lib/wasm/wasm_exec.js" extension/wasm_exec.js

demo: deps build
	./bin/ctidemo $(if $(filter 1,$(BROWSER)),-browser) $(if $(filter 1,$(HA)),-ha)

test: deps build
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/...
	$(GO) test -race -count=1 -timeout 30m ./...

# bench runs the Go benchmarks of the hot paths, then the load command at
# full scale (10,000 agents, 1,000,000 customers); it writes BENCHMARKS.md
# and test-output/bench.json. BENCH_FLAGS overrides ctibench's flags.
BENCH_FLAGS ?= -agents 10000 -rate 80 -duration 60s -contacts 1000000 -runs 3
bench: deps build
	$(GO) test -run '^$$' -bench . -benchmem ./gateway/...
	mkdir -p test-output
	ulimit -n 65536 2>/dev/null; ./bin/ctibench $(BENCH_FLAGS) -markdown BENCHMARKS.md -json test-output/bench.json

# chaos runs the fault suite under load (ctibench -faults): each fault
# injected while agents work calls, checked against the switch's truth;
# it writes RELIABILITY.md and test-output/faults.json and fails on any
# loss. CHAOS_FLAGS overrides the scale.
CHAOS_FLAGS ?= -agents 200 -rate 20 -talk 3s -fault-hold 10s -postgres-down 60s -idle-sockets 2000 -flood-logins 400
chaos: deps build
	mkdir -p test-output
	ulimit -n 65536 2>/dev/null; ./bin/ctibench -faults $(CHAOS_FLAGS) -markdown RELIABILITY.md -json test-output/faults.json

# failover runs the failover benchmark (ctibench -failover, issue 14): two
# gateways, the active killed with SIGKILL then stopped with SIGTERM while
# agents have calls in every state; it writes FAILOVER.md and fails on any
# loss. FAILOVER_FLAGS overrides the scale.
FAILOVER_FLAGS ?= -agents 1000 -lease 2s
failover: deps build
	ulimit -n 65536 2>/dev/null; ./bin/ctibench -failover $(FAILOVER_FLAGS) -markdown FAILOVER.md

# fuzz runs each fuzzer for FUZZTIME (default 1m); findings land in the
# package's testdata/fuzz and become regression tests.
FUZZTIME ?= 1m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzReadFrame$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 200x ./gateway/csta
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 200x ./gateway/csta
	$(GO) test -run '^$$' -fuzz '^FuzzSameDevice$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 200x ./gateway/csta
	$(GO) test -run '^$$' -fuzz '^FuzzRedact$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 200x ./gateway/csta

# extension builds what an admin deploys into dist/: the zip, the signed
# crmcti.crx and updates.xml (Chrome, Edge), crmcti.xpi and updates.json
# (Firefox), and dist/policy/ (templates for every browser and OS). KEY is
# the signing key, kept OUTSIDE the repository (created on first use; it
# fixes the extension ID); BASE_URL is where the gateway serves dist/
# (ctigateway serve -extension-dir dist); SETTINGS the managed settings.
KEY      ?= $(HOME)/.config/crmcti/extension-key.pem
BASE_URL ?= https://cti.example.com/extension/
SETTINGS ?= schema/policy/settings.example.json
extension: build
	./bin/ctipack -root . -out dist -key "$(KEY)" -base-url "$(BASE_URL)" -settings "$(SETTINGS)"

clean:
	rm -rf bin dist extension/core.wasm extension/wasm_exec.js test-output
