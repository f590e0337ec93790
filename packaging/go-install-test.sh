#!/usr/bin/env bash
# Proves that `go install github.com/sshwhy/sshwhy/cmd/sshwhy@VERSION` works
# (make install-test runs it): HEAD is served as a pseudo-version from a
# file:// module proxy in front of the real one, installed with cgo and
# without, and each binary's --version checked (the version and commit from
# the build info; journald built in, or not and saying so).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
mod=github.com/sshwhy/sshwhy
when=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S)
rev=$(git rev-parse --short=12 HEAD)
ver=v0.0.0-$when-$rev
work=$(mktemp -d)
modcache=$(go env GOMODCACHE)
# Leave no trace of the made-up version in the module cache.
cleanup() {
	chmod -R u+w "$modcache/$mod@$ver" 2>/dev/null || true
	rm -rf "$work" "$modcache/$mod@$ver" "$modcache/cache/download/$mod/@v/$ver".* "$modcache/cache/download/$mod/@v/list"
	rmdir -p "$modcache/cache/download/$mod/@v" "$modcache/${mod%/*}" 2>/dev/null || true
}
trap cleanup EXIT

# The proxy layout: $mod/@v/list, VERSION.info, .mod, .zip (the zip's paths
# under MODULE@VERSION/).
at=$work/proxy/$mod/@v
mkdir -p "$at"
echo "$ver" >"$at/list"
printf '{"Version":"%s","Time":"%s"}\n' "$ver" "$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ)" >"$at/$ver.info"
git show HEAD:go.mod >"$at/$ver.mod"
git archive --format=zip --prefix="$mod@$ver/" -o "$at/$ver.zip" HEAD

export GOPROXY="file://$work/proxy,$(go env GOPROXY)" GONOSUMDB=$mod GOFLAGS=-mod=mod
failed=0
for cgo in 1 0; do
	bin=$work/bin-cgo$cgo
	if ! out=$(GOBIN=$bin CGO_ENABLED=$cgo go install "$mod/cmd/sshwhy@$ver" 2>&1); then
		echo "FAIL CGO_ENABLED=$cgo go install $mod/cmd/sshwhy@$ver"
		printf '%s\n' "$out"
		failed=$((failed + 1))
		continue
	fi
	v=$("$bin/sshwhy" --version)
	want_journal="journald: built in"
	[ "$cgo" = 0 ] && want_journal="journald: not built in (built without cgo)"
	if printf '%s\n' "$v" | grep -qx "sshwhy $ver" && printf '%s\n' "$v" | grep -qx "commit:   $rev" &&
		printf '%s\n' "$v" | grep -q "^$want_journal"; then
		echo "ok   CGO_ENABLED=$cgo go install $mod/cmd/sshwhy@$ver: $(printf '%s' "$v" | tr '\n' ';')"
	else
		echo "FAIL CGO_ENABLED=$cgo go install: --version says:"
		printf '%s\n' "$v"
		failed=$((failed + 1))
	fi
done
if [ -x "$work/bin-cgo0/sshwhy" ]; then
	if out=$("$work/bin-cgo0/sshwhy" classify --journal 2>&1 </dev/null); then
		echo "FAIL the build without cgo read the journal"
		failed=$((failed + 1))
	elif printf '%s\n' "$out" | grep -q "journald support is not built in"; then
		echo "ok   without cgo, classify --journal: $(printf '%s' "$out" | tail -1)"
	else
		echo "FAIL without cgo, classify --journal said: $out"
		failed=$((failed + 1))
	fi
fi
[ "$failed" = 0 ]
