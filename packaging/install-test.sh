#!/usr/bin/env bash
# The install test (make install-test, part of make test): the .deb is
# installed with apt-get into a fresh Debian 12 root made by debootstrap,
# checked as an admin would check it, reinstalled, removed and purged;
# lintian reads the .deb; rpm reads the .rpm.
#
#   packaging/install-test.sh DEB [RPM]
#
# Needs root (chroot, mounts), debootstrap, lintian and rpm (the Makefile
# installs them). The debootstrap root (minbase, plus man-db and systemd) is
# cached under $SSHWHY_INSTALL_TEST_CACHE (default
# /var/cache/sshwhy-install-test), keyed on the mirror and the suite; each
# run works on an overlay of it (a copy where overlayfs is missing), so the
# cache stays pristine. The mirror is the first one of this machine's apt
# sources that serves bookworm, or $MIRROR.
set -euo pipefail

suite=bookworm
include=man-db,systemd
deb=$(realpath "$1")
rpm=${2:+$(realpath "$2")}
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${SSHWHY_INSTALL_TEST_CACHE:-/var/cache/sshwhy-install-test}
started=$(date +%s)

passed=0 failed=0
# check DESCRIPTION CODE: evaluates the shell CODE, counts and prints the
# result (with CODE's output when it fails). Without pipefail: a grep -q
# that stops reading must not fail the command that writes to it.
check() {
	local out
	if out=$(set +o pipefail; eval "$2" 2>&1); then
		passed=$((passed + 1))
		echo "ok   $1"
	else
		failed=$((failed + 1))
		echo "FAIL $1"
		printf '%s\n' "$out" | head -40 | sed 's/^/     | /'
	fi
}
step() { echo "== $* ($(($(date +%s) - started)) s)"; }

# mirror prints the first URI of the apt sources (one-line .list files and
# deb822 .sources files) that serves the suite's main component.
mirror() {
	if [ -n "${MIRROR:-}" ]; then
		echo "$MIRROR"
		return
	fi
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			if ($(i + 1) == s) { for (j = i + 2; j <= NF; j++) if ($j == "main") { print $i; exit } } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$suite" 'function flush() { if (deb && on && suite && main && uri != "") { print uri; exit } deb = on = suite = main = 0; uri = "" }
			BEGIN { on = 1 }
			/^[[:space:]]*$/ { flush(); on = 1; next }
			/^#/ { next }
			tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
			tolower($1) == "uris:" { uri = $2 }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) suite = 1 }
			tolower($1) == "components:" { for (i = 2; i <= NF; i++) if ($i == "main") main = 1 }
			tolower($1) == "enabled:" { on = ($2 != "no") }
			END { flush() }' "$f"
	done
}
mirror=$(mirror | head -1)
if [ -z "$mirror" ]; then
	echo "install-test: no apt source of this machine serves Debian $suite main; set MIRROR=URL" >&2
	exit 1
fi

# The cached root: built once per mirror and suite, under a lock (parallel
# runs wait), moved into place only when complete.
key=$(printf '%s %s minbase %s v1' "$mirror" "$suite" "$include" | sha256sum | cut -c1-16)
base=$cache/$suite-$key
mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9
if [ ! -e "$base/complete" ]; then
	step "debootstrap --variant=minbase --include=$include $suite $mirror (cached in $base)"
	rm -rf --one-file-system "$base.new"
	mkdir -p "$base.new"
	if ! debootstrap --variant=minbase --include="$include" "$suite" "$base.new/root" "$mirror" >"$base.new/debootstrap.log" 2>&1; then
		tail -20 "$base.new/debootstrap.log" >&2
		exit 1
	fi
	rm -rf --one-file-system "$base"
	mv "$base.new" "$base"
	touch "$base/complete"
else
	step "cached Debian $suite root $base (mirror $mirror)"
fi

work=$(mktemp -d /var/tmp/sshwhy-install-test.XXXXXX)
root=$work/root
mkdir -p "$root" "$work/upper" "$work/work"
cleanup() {
	umount "$root/proc" 2>/dev/null || true
	umount "$root" 2>/dev/null || true
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
if ! mount -t overlay overlay -o "lowerdir=$base/root,upperdir=$work/upper,workdir=$work/work" "$root" 2>/dev/null; then
	cp -a "$base/root/." "$root/"
fi
flock -u 9
mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# No service starts in the root: policy-rc.d says no to deb-systemd-invoke
# (and there is no systemd running there anyway).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@"; }

# The package's dependencies first, so that the snapshot taken before the
# install holds them and "purge removes nothing else" compares like with like.
depends=$(dpkg-deb -f "$deb" Depends)
step "apt-get satisfy '$depends'"
if ! in_root apt-get satisfy -y -q --no-install-recommends "$depends" >"$work/satisfy.log" 2>&1; then
	in_root apt-get update -q >"$work/update.log" 2>&1 || { cat "$work/update.log"; exit 1; }
	in_root apt-get satisfy -y -q --no-install-recommends "$depends" >"$work/satisfy.log" 2>&1 || { cat "$work/satisfy.log"; exit 1; }
fi

# snapshot: every path of the root's own file systems with its mode, owner
# and (files) size, but for what apt, dpkg, caches and logs change on their own, and
# the account files' backups (passwd-, group-, ...) that useradd rewrites.
snapshot() {
	in_root find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
		-o -path /var/cache -o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /var/log \
		-o -path '/etc/*-' \) -prune -o -printf '%y %M %u:%g %s %p\n' |
		awk '$1 == "d" { $4 = "-" } { print }' | LC_ALL=C sort
	for f in passwd group shadow gshadow subuid subgid; do
		[ -f "$root/etc/$f" ] && sed "s|^|/etc/$f: |" "$root/etc/$f"
	done
	true
}
snapshot >"$work/before"

version=$(dpkg-deb -f "$deb" Version)
debname=$(basename "$deb")
cp "$deb" "$root/tmp/"
cp -p "$repo/testdata/sample/auth.log" "$root/tmp/auth.log"
step "apt-get install ./$debname"
check "apt-get install ./$debname" 'in_root sh -c "cd /tmp && apt-get install -y -q ./$debname"'
check "dpkg says installed" '[ "$(in_root dpkg-query -W -f="\${Status} \${Version}" sshwhy)" = "install ok installed $version" ]'

step "files, modes, owners"
while read -r mode owner path; do
	check "$path $mode $owner" '[ "$(in_root stat -c "%a %U:%G" "$path")" = "$mode $owner" ]'
done <<'FILES'
755 root:root /usr/bin/sshwhy
644 root:root /usr/lib/systemd/system/sshwhy.service
755 root:root /etc/sshwhy
644 root:root /etc/sshwhy/sshwhy.toml
750 sshwhy:sshwhy /var/lib/sshwhy
644 root:root /usr/share/man/man1/sshwhy.1.gz
644 root:root /usr/share/man/man1/sshwhy-classify.1.gz
644 root:root /usr/share/man/man1/sshwhy-agent.1.gz
644 root:root /usr/share/man/man1/sshwhy-rules-list.1.gz
644 root:root /usr/share/bash-completion/completions/sshwhy
644 root:root /usr/share/zsh/vendor-completions/_sshwhy
644 root:root /usr/share/fish/vendor_completions.d/sshwhy.fish
644 root:root /usr/share/doc/sshwhy/copyright
644 root:root /usr/share/doc/sshwhy/changelog.Debian.gz
644 root:root /usr/share/doc/sshwhy/README.md.gz
FILES
check "a man page per command ($(ls "$repo/dist/stage/man" | wc -l))" \
	'[ "$(cd "$root/usr/share/man/man1" && ls sshwhy*.1.gz)" = "$(ls "$repo/dist/stage/man")" ]'
check "sshwhy.toml is a conffile" \
	'in_root dpkg-query -W -f="\${Conffiles}" sshwhy | grep -q "^ /etc/sshwhy/sshwhy.toml [0-9a-f]\{32\}$"'
check "sshwhy.toml sets nothing (comments only): no report schedule" \
	'! grep -v -e "^[[:space:]]*#" -e "^[[:space:]]*$" "$root/etc/sshwhy/sshwhy.toml"'
check "sshwhy.service enabled (multi-user.target.wants)" \
	'[ "$(in_root readlink -f /etc/systemd/system/multi-user.target.wants/sshwhy.service)" = /usr/lib/systemd/system/sshwhy.service ]'

step "the sshwhy user"
check "system user sshwhy, home /var/lib/sshwhy, shell nologin" \
	'in_root getent passwd sshwhy | awk -F: "\$3 < 1000 && \$6 == \"/var/lib/sshwhy\" && \$7 == \"/usr/sbin/nologin\" { ok = 1 } END { exit !ok }"'
check "its primary group is sshwhy" '[ "$(in_root id -gn sshwhy)" = sshwhy ]'
for g in adm systemd-journal; do
	check "it is in group $g" 'in_root id -nG sshwhy | tr " " "\n" | grep -qx "$g"'
done
uid=$(in_root id -u sshwhy)

step "sshwhy --version, man, systemd-analyze, classify"
vout=$(in_root sshwhy --version)
check "sshwhy --version: $(printf '%s' "$vout" | head -1)" \
	'printf "%s\n" "$vout" | grep -qx "sshwhy ${version%-*}" && printf "%s\n" "$vout" | grep -q "^journald: built in" &&
		printf "%s\n" "$vout" | grep -q "^openssh:  [0-9]"'
check "sshwhy version says the same" '[ "$(in_root sshwhy version)" = "$vout" ]'
for page in sshwhy sshwhy-agent sshwhy-classify sshwhy-search; do
	check "man $page renders, without warnings" \
		'out=$(in_root env MANWIDTH=80 man --warnings "$page" 2>&1) && printf "%s\n" "$out" | grep -q "^NAME" &&
			printf "%s\n" "$out" | grep -Eq "^ +$page +- " && ! printf "%s\n" "$out" | grep -i warning'
done
check "whatis sshwhy-classify (mandb read its NAME)" 'in_root whatis sshwhy-classify | grep "^sshwhy-classify (1) *- Print one event"'
check "systemd-analyze verify sshwhy.service: nothing to say" \
	'out=$(in_root systemd-analyze verify /usr/lib/systemd/system/sshwhy.service 2>&1); rc=$?; echo "$out"; [ $rc = 0 ] && [ -z "$out" ]'
security=$(in_root systemd-analyze security --offline=true /usr/lib/systemd/system/sshwhy.service 2>&1 | tail -1 || true)
check "systemd-analyze security: ${security#→ }" 'printf "%s\n" "$security" | grep -q "exposure level for sshwhy.service: [0-9.]* \(OK\|SAFE\)"'
host=$(cd "$repo/testdata/sample" && "$repo/dist/stage/sshwhy" classify --tz UTC --login-grace-time 20s -o json auth.log 2>/dev/null)
events=$(printf '%s\n' "$host" | grep -c '"cause"' || true)
check "sshwhy classify as user sshwhy in the root: $events events, as on the host" \
	'[ "$events" -gt 0 ] && [ "$(in_root sh -c "cd /tmp && runuser -u sshwhy -- sshwhy classify --tz UTC --login-grace-time 20s -o json auth.log 2>/dev/null")" = "$host" ]'
check "sshwhy index as user sshwhy into /var/lib/sshwhy, then search it" \
	'in_root runuser -u sshwhy -- sshwhy index --data /var/lib/sshwhy /tmp/auth.log &&
		in_root runuser -u sshwhy -- sshwhy search --data /var/lib/sshwhy --since 2000-01-01 --count-by cause | grep client_timeout'
check "bash completion loads (complete -p sshwhy), sshwhy __complete answers" \
	'in_root bash -c ". /usr/share/bash-completion/completions/sshwhy && complete -p sshwhy" | grep -q __start_sshwhy &&
		in_root sshwhy __complete clas | grep -q "^classify[[:space:]]"'

step "reinstall (postinst configure with the installed version)"
check "apt-get install --reinstall" 'in_root sh -c "cd /tmp && apt-get install -y -q --reinstall ./$debname"'
check "the user kept its uid $uid" '[ "$(in_root id -u sshwhy)" = "$uid" ]'
check "the index is still there" '[ -n "$(ls -A "$root/var/lib/sshwhy")" ]'

step "apt-get remove"
echo "# an admin's change" >>"$root/etc/sshwhy/sshwhy.toml"
check "apt-get remove sshwhy" 'in_root apt-get remove -y -q sshwhy'
check "dpkg says config-files" '[ "$(in_root dpkg-query -W -f="\${Status}" sshwhy)" = "deinstall ok config-files" ]'
for f in /usr/bin/sshwhy /usr/lib/systemd/system/sshwhy.service /usr/share/man/man1/sshwhy.1.gz /usr/share/bash-completion/completions/sshwhy; do
	check "remove: $f is gone" '[ ! -e "$root$f" ]'
done
check "remove keeps the changed /etc/sshwhy/sshwhy.toml" 'grep -qx "# an admin'"'"'s change" "$root/etc/sshwhy/sshwhy.toml"'
check "remove keeps /var/lib/sshwhy and the index" \
	'[ "$(in_root stat -c "%a %U" /var/lib/sshwhy)" = "750 sshwhy" ] && [ -n "$(ls -A "$root/var/lib/sshwhy")" ]'
check "remove keeps the user" 'in_root getent passwd sshwhy'
check "install after remove: the changed configuration, the data and the uid kept" \
	'in_root sh -c "cd /tmp && apt-get install -y -q ./$debname" && grep -qx "# an admin'"'"'s change" "$root/etc/sshwhy/sshwhy.toml" &&
		[ -n "$(ls -A "$root/var/lib/sshwhy")" ] && [ "$(in_root id -u sshwhy)" = "$uid" ]'

step "apt-get purge"
check "apt-get purge sshwhy" 'in_root apt-get purge -y -q sshwhy'
check "dpkg knows no sshwhy" '! in_root dpkg-query -W sshwhy'
for f in /etc/sshwhy /var/lib/sshwhy /etc/systemd/system/multi-user.target.wants/sshwhy.service; do
	check "purge: $f is gone" '[ ! -e "$root$f" ] && [ ! -L "$root$f" ]'
done
check "purge: the user and its group are gone" '! in_root getent passwd sshwhy && ! in_root getent group sshwhy'
check "purge: no sshwhy in the account files" '! grep -w sshwhy "$root/etc/passwd" "$root/etc/group" "$root/etc/shadow" "$root/etc/gshadow"'
snapshot >"$work/after"
check "purge removes nothing else: the root is as before the install" 'diff -u "$work/before" "$work/after"'

step "lintian $debname"
# Every tag down to info and pedantic is shown; an error fails the test.
lintian_rc=0
lintian_out=$(lintian --display-info --pedantic --fail-on error "$deb" 2>&1) || lintian_rc=$?
printf '%s\n' "$lintian_out" | grep -v 'running with root privileges' | sed 's/^/     lintian: /'
check "lintian: no error (exit status $lintian_rc)" '[ "$lintian_rc" = 0 ]'

if [ -n "$rpm" ]; then
	step "rpm $(basename "$rpm")"
	check "rpm -K (digests)" 'rpm -K --nosignature "$rpm"'
	rpmfiles=$(rpm -qlvp "$rpm")
	while read -r mode owner path; do
		check "rpm: $path $mode $owner" \
			'printf "%s\n" "$rpmfiles" | awk -v m="$mode" -v o="$owner" -v p="$path" "\$1 == m && \$3 \":\" \$4 == o && \$NF == p { f = 1 } END { exit !f }"'
	done <<'FILES'
-rwxr-xr-x root:root /usr/bin/sshwhy
-rw-r--r-- root:root /usr/lib/systemd/system/sshwhy.service
-rw-r--r-- root:root /etc/sshwhy/sshwhy.toml
drwxr-x--- sshwhy:sshwhy /var/lib/sshwhy
-rw-r--r-- root:root /usr/share/man/man1/sshwhy.1.gz
-rw-r--r-- root:root /usr/share/bash-completion/completions/sshwhy
-rw-r--r-- root:root /usr/share/zsh/site-functions/_sshwhy
-rw-r--r-- root:root /usr/share/fish/vendor_completions.d/sshwhy.fish
-rw-r--r-- root:root /usr/share/licenses/sshwhy/LICENSES
FILES
	check "rpm: sshwhy.toml is %config(noreplace)" \
		'rpm -qp --qf "[%{FILENAMES} %{FILEFLAGS:fflags}\n]" "$rpm" | grep -qx "/etc/sshwhy/sshwhy.toml cn"'
	check "rpm: %pre, %post, %preun, %postun" \
		's=$(rpm -qp --scripts "$rpm") && for w in preinstall postinstall preuninstall postuninstall; do printf "%s\n" "$s" | grep -q "^$w scriptlet" || exit 1; done'
fi
check "maintainer scripts: sh -n" 'for f in "$repo"/packaging/rpm/* "$repo"/packaging/deb/postinst "$repo"/packaging/deb/prerm "$repo"/packaging/deb/postrm; do sh -n "$f" || exit 1; done'

step "done"
echo "install-test: $passed passed, $failed failed"
[ "$failed" = 0 ]
