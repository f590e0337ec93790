# sshwhy: `make run` classifies this machine's sshd logs, `make test` proves it.
# Both install what they need on a fresh Debian machine (as root, or with sudo).

GO          ?= go
BIN         := bin/sshwhy
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The real VictoriaLogs the fleet tests start (victorialogs/vltest): a
# single node and a two-node cluster on loopback.
VICTORIALOGS := github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.2
GOBIN       := $(shell $(GO) env GOPATH)/bin
# Debian packages: libsystemd-dev to build (sdjournal, cgo); the rest are the
# real parts the tests drive (sshd, ssh, journald, rsyslog, sshpass, nc,
# chromium for the HTML report).
APT_BUILD   := libsystemd-dev pkg-config gcc
APT_TEST    := openssh-server openssh-client rsyslog sshpass netcat-openbsd systemd procps util-linux iproute2 chromium logrotate
APT_BENCH   := fail2ban time
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Fuzz budgets are execution counts, not durations: a -fuzztime duration races
# go test's own coordinator deadline and fails spuriously with "context
# deadline exceeded" on a busy machine (golang/go fuzz coordinator race).
# About 10-20 s each on a 2-core machine.
FUZZ_PARSE  ?= 600000x
FUZZ_MATCH  ?= 600000x
FUZZ_FEED   ?= 400000x

.PHONY: all build run test check bench fuzz deps-build deps-test deps-bench clean

all: build

# apt-install installs the listed packages that are missing (one apt-get update first).
define apt-install
	@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps-build:
	$(call apt-install,$(APT_BUILD))

deps-test: deps-build
	$(call apt-install,$(APT_TEST))
	@[ -x $(GOBIN)/staticcheck ] || $(GO) install $(STATICCHECK)
	@$(GO) version -m $(GOBIN)/victoria-logs 2>/dev/null | grep -q "mod.*VictoriaLogs.*$(lastword $(subst @, ,$(VICTORIALOGS)))" || \
		{ echo "installing $(VICTORIALOGS)"; GOBIN=$(GOBIN) $(GO) install $(VICTORIALOGS); }

deps-bench: deps-build
	$(call apt-install,$(APT_BENCH))

build: deps-build
	$(GO) build -o $(BIN) ./cmd/sshwhy

# run: classify this machine's sshd log: the journal when it has sshd
# entries, else /var/log/auth.log or /var/log/secure, else the bundled sample
# (captured from a real Debian 12 sshd by the end-to-end test's lab).
run: build
	@if $(BIN) classify --journal -o json </dev/null >/dev/null 2>&1 && [ -n "$$($(BIN) classify --journal -o json </dev/null 2>/dev/null | head -1)" ]; then \
		echo "# sshwhy classify --journal"; $(BIN) classify --journal; \
	elif [ -r /var/log/auth.log ] && [ -s /var/log/auth.log ]; then \
		echo "# sshwhy classify /var/log/auth.log*"; $(BIN) classify /var/log/auth.log*; \
	elif [ -r /var/log/secure ] && [ -s /var/log/secure ]; then \
		echo "# sshwhy classify /var/log/secure*"; $(BIN) classify /var/log/secure*; \
	else \
		echo "# no readable sshd log here: sshwhy classify testdata/sample/auth.log"; \
		$(BIN) classify --login-grace-time 20s testdata/sample/auth.log; \
	fi

check: deps-test
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...

# test: static checks, every test (unit, real journald/rsyslog ingest, real
# sshd end to end), and a short fuzz run of the parsers.
test: check
	$(GO) test -count=1 -timeout 14m ./...
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZ_PARSE) ./ingest
	$(GO) test -run '^$$' -fuzz '^FuzzMatch$$' -fuzztime $(FUZZ_MATCH) ./rules
	$(GO) test -run '^$$' -fuzz '^FuzzFeed$$' -fuzztime $(FUZZ_FEED) ./classify

fuzz: deps-build
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 10m ./ingest
	$(GO) test -run '^$$' -fuzz '^FuzzMatch$$' -fuzztime 10m ./rules
	$(GO) test -run '^$$' -fuzz '^FuzzFeed$$' -fuzztime 10m ./classify

bench: deps-bench build
	bash bench/run.sh

clean:
	rm -rf bin
