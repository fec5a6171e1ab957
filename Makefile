# benchbook's make targets. `make demo` and `make test` are the two commands
# of the README's quick start; both install what is missing first.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/benchbook/benchbook/internal/buildinfo.version=$(VERSION)
BIN      := bin/benchbook
OUT      ?= public

# Debian packages the tests and the demo use: real programs, never mocks.
DEB_PACKAGES := redis-server redis-tools qemu-system-x86 qemu-utils linux-image-cloud-amd64 iproute2 cpio lz4 libvirt-daemon-system dnsmasq-base hugo jekyll chromium fio sysbench hyperfine wrk iperf3 nginx-light memcached zstd xz-utils time xfsprogs btrfs-progs e2fsprogs passt shellcheck

export PATH := $(PATH):/usr/local/go/bin

.PHONY: setup build test demo bench lint fmt clean fuzz fuzz-ci

setup:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "setup: need root for apt-get (sudo make setup)"; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# Debian's redis-server package starts a system redis; benchbook starts its own on free ports.
	@command -v redis-server >/dev/null
	@# taplo, the TOML language server editors use: the schema test lints the notebooks with it.
	@command -v taplo >/dev/null || { echo "setup: installing taplo (npm @taplo/cli)"; npm install -g --silent @taplo/cli; }
	@# Without systemd nothing starts libvirtd: start it (in a network namespace of
	@# its own, so its NAT network stays off the host) and wait for its socket.
	@if [ "$$(id -u)" = 0 ] && ! pidof systemd >/dev/null 2>&1; then $(GO) run ./internal/setup/libvirtd-up; fi

# Static (CGO_ENABLED=0): benchbook is also the init of its Linux micro-VM.
# bin/benchbook-init is the micro-VM's /init when present: smaller than
# benchbook itself, and its digest does not change with every build.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/benchbook
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o bin/benchbook-init ./runner/image/initrd/init

test: setup
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

# Runs the example notebooks' benchmarks on this machine and says whether
# the committed figures still hold here (benchbook verify: a scratch folder,
# the stored results are not touched; figures from another machine may well
# move, which is reported, not an error of the demo), then builds the site
# from the notebooks, running any stale cell first.
demo: setup build
	@echo "demo: rerunning the example notebooks' bench cells on this machine..."
	-for nb in notebooks/*.toml; do $(BIN) verify -q $$nb; done
	$(BIN) build --execute notebooks -o $(OUT)
	@echo "demo: open $(OUT)/index.html"

# loadbench compares memtier_benchmark too when MEMTIER_BENCHMARK names a
# build of it (not packaged in Debian); without it memtier is skipped.
bench: setup
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./internal/bench/loadbench
	$(GO) run ./internal/bench/toolbench
	$(GO) run ./internal/bench/vmbench
	$(GO) run ./internal/bench/sitebench

# Every fuzz target (notebook parsing, rendering, the load tools' output
# parsers...) for a bounded time each; plain `go test` runs their seed corpora.
FUZZTIME ?= 1m
fuzz:
	FUZZTIME=$(FUZZTIME) FUZZMINIMIZETIME=10s .ci/fuzz

fuzz-ci:
	FUZZTIME=20s .ci/fuzz

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin out $(OUT)
