# sshwhy: `make run` classifies this machine's sshd logs, `make test` proves it.
# Both install what they need on a fresh Debian machine (as root, or with sudo).

GO          ?= go
BIN         := bin/sshwhy
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The real VictoriaLogs the fleet tests start (victorialogs/vltest): a
# single node and a two-node cluster on loopback.
VICTORIALOGS := github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.2
GOBIN       := $(shell $(GO) env GOPATH)/bin
# What --version says (cmd/sshwhy/version.go); the package version comes
# from git (packaging/version.sh), or give it: make package VERSION=1.2.0.
VERSION     ?= $(shell packaging/version.sh 2>/dev/null || echo 0.0.0)
VERSION     := $(VERSION)
COMMIT      ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
COMMIT      := $(COMMIT)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
SOURCE_DATE_EPOCH := $(SOURCE_DATE_EPOCH)
LDFLAGS     := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Packages: nfpm's CLI, pinned, built from the module proxy into bin/tools
# (kept out of go.mod: it is a build tool, not part of sshwhy).
NFPM_VERSION := v2.45.2
NFPM        := bin/tools/nfpm-$(NFPM_VERSION)/nfpm
MAINTAINER  ?= sshwhy developers <packages@sshwhy.invalid>
GOARCH      := $(shell $(GO) env GOARCH)
PKG_BIN     := bin/pkg/sshwhy
# The cgo part (sdjournal) with Debian's hardening flags; the Go part PIE,
# without symbol tables (panics still name functions).
PKG_CGO_CFLAGS  := -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
PKG_CGO_LDFLAGS := -Wl,-z,relro -Wl,-z,now
# Debian packages: libsystemd-dev to build (sdjournal, cgo); the rest are the
# real parts the tests drive (sshd, ssh, journald, rsyslog, sshpass, nc,
# chromium for the HTML report, man-db for the man pages).
APT_BUILD   := libsystemd-dev pkg-config gcc
APT_TEST    := openssh-server openssh-client rsyslog sshpass netcat-openbsd systemd procps util-linux iproute2 chromium logrotate man-db
APT_BENCH   := fail2ban time
# make install-test: a Debian 12 root to install the .deb into, lintian,
# and rpm to read the .rpm.
APT_INSTALL_TEST := debootstrap lintian rpm
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Fuzz budgets are execution counts, not durations: a -fuzztime duration races
# go test's own coordinator deadline and fails spuriously with "context
# deadline exceeded" on a busy machine (golang/go fuzz coordinator race).
# About 10-20 s each on a 2-core machine.
FUZZ_PARSE  ?= 600000x
FUZZ_MATCH  ?= 600000x
FUZZ_FEED   ?= 400000x

.PHONY: all build run test check check-nocgo bench fuzz package install-test deps-build deps-test deps-bench deps-package deps-install-test clean

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

deps-package: deps-build $(NFPM)

deps-install-test: deps-package
	$(call apt-install,$(APT_INSTALL_TEST))

$(NFPM):
	GOBIN=$(CURDIR)/$(dir $(NFPM)) $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)

build: deps-build
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/sshwhy

# package: dist/sshwhy_VERSION-1_ARCH.deb and dist/sshwhy-VERSION-1.ARCH.rpm
# (packaging/nfpm.yaml, docs/packaging.md).
package: deps-package
	CGO_ENABLED=1 CGO_CFLAGS="$(PKG_CGO_CFLAGS)" CGO_LDFLAGS="$(PKG_CGO_LDFLAGS)" \
		$(GO) build -trimpath -buildmode=pie -ldflags "-s -w $(LDFLAGS)" -o $(PKG_BIN) ./cmd/sshwhy
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) packaging/stage.sh $(PKG_BIN) dist/stage "$(VERSION)" "$(COMMIT)" "$(MAINTAINER)"
	mkdir -p dist
	rm -f dist/sshwhy_*.deb dist/sshwhy-*.rpm
	for p in deb rpm; do \
		SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) VERSION="$(VERSION)" GOARCH=$(GOARCH) MAINTAINER="$(MAINTAINER)" \
			$(NFPM) package -f packaging/nfpm.yaml -p $$p -t dist/ || exit 1; \
	done
	@ls -l dist/sshwhy_*.deb dist/sshwhy-*.rpm

# install-test: the .deb installed into a fresh Debian 12 root (debootstrap,
# cached under /var/cache/sshwhy-install-test), checked, removed, purged;
# lintian on the .deb; the .rpm's files and scripts (packaging/install-test.sh);
# go install ...@VERSION of the committed HEAD, with cgo and without
# (packaging/go-install-test.sh). docs/packaging.md.
install-test: deps-install-test package
	packaging/install-test.sh dist/sshwhy_$(VERSION)-1_*.deb dist/sshwhy-$(VERSION)-1.*.rpm
	packaging/go-install-test.sh

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

check: deps-test check-nocgo
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...

# check-nocgo: `go install` without a C compiler or libsystemd-dev builds
# sshwhy without cgo: it must compile, and say that it cannot read the
# journal (--version, --journal).
check-nocgo:
	CGO_ENABLED=0 $(GO) build ./...
	CGO_ENABLED=0 $(GO) vet ./...
	CGO_ENABLED=0 $(GO) test -count=1 -run 'JournalUnsupported|JournalNotBuiltIn|TestVersion' ./ingest ./cmd/sshwhy

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
	rm -rf bin dist
