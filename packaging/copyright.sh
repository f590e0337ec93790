#!/bin/sh
# Writes the copyright and license texts of the binary BIN: sshwhy's own
# notice, then the license files (LICENSE, COPYING, NOTICE, licenses/*) of
# every Go module linked into it, as `go version -m BIN` lists them, and of
# the Go standard library. A text seen before is named, not repeated. The
# modules must be in the module cache (they are, after the build).
#
#   packaging/copyright.sh --debian BIN   /usr/share/doc/sshwhy/copyright:
#       the Apache 2.0 and GPL texts replaced by their files in
#       /usr/share/common-licenses (Debian Policy 12.5)
#   packaging/copyright.sh --full BIN     every text in full (the RPM's
#       /usr/share/licenses/sshwhy/LICENSES)
set -eu
mode=$1 bin=$2
go=${GO:-go}
rule='======================================================================'
case $mode in --debian | --full) ;; *)
	echo "usage: $0 --debian|--full BIN" >&2
	exit 2
	;;
esac

cat <<'HEAD'
sshwhy
Source: https://github.com/sshwhy/sshwhy

Files: all of sshwhy's own sources
Copyright: the sshwhy authors
License: the sshwhy sources do not state a license yet.

/usr/bin/sshwhy is a Go program. It is linked with the Go standard library
and with the Go modules below (`go version -m /usr/bin/sshwhy` lists them
with their checksums). Each one's license text follows, as the module
ships it.
HEAD
if [ "$mode" = --debian ]; then
	cat <<'HEAD'

On Debian systems the complete text of the Apache License, Version 2.0 is
in /usr/share/common-licenses/Apache-2.0, and that of the GNU General
Public License, version 2, in /usr/share/common-licenses/GPL-2.
HEAD
fi

seen=$(mktemp)
trap 'rm -f "$seen"' EXIT

# shorten FILE prints FILE in UTF-8, in --debian mode with a full Apache 2.0
# or GPL-2 text replaced by a reference to common-licenses, keeping what a
# project added to it (its copyright line in the appendix, text after the
# terms).
shorten() {
	if [ "$mode" = --debian ] && grep -q 'TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION' "$1"; then
		echo "Apache License, Version 2.0: /usr/share/common-licenses/Apache-2.0"
		awk '/END OF TERMS AND CONDITIONS/ { terms = 1; next }
			terms && /Copyright/ && !/\[yyyy\]/ { print }
			terms && /limitations under the License\./ { after = 1; next }
			after { print }' "$1"
	elif [ "$mode" = --debian ] && grep -q 'GNU GENERAL PUBLIC LICENSE' "$1" && grep -q 'Version 2, June 1991' "$1"; then
		echo "GNU General Public License, version 2: /usr/share/common-licenses/GPL-2"
	elif iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1; then
		cat "$1"
	else # Latin-1, as older license files are
		iconv -f ISO-8859-1 -t UTF-8 "$1"
	fi
}

# license_of DIR NAME prints the module's license files, or, for a text
# printed before, the module it was printed for.
license_of() {
	found=
	for f in "$1"/LICENSE "$1"/LICENSE.* "$1"/LICENSE-* "$1"/LICENCE "$1"/LICENCE.* "$1"/COPYING "$1"/COPYING.* \
		"$1"/license "$1"/License "$1"/license.* "$1"/NOTICE "$1"/NOTICE.* "$1"/licenses/*; do
		[ -f "$f" ] || continue
		found=1
		sum=$(sha256sum <"$f" | cut -c1-64)
		first=$(awk -v s="$sum" '$1 == s { $1 = ""; print substr($0, 2); exit }' "$seen")
		echo "-- ${f#"$1"/}"
		if [ -n "$first" ]; then
			echo "The same text as $first above."
		else
			echo "$sum $2" >>"$seen"
			shorten "$f"
		fi
		echo
	done
	[ -n "$found" ]
}

goroot=$("$go" env GOROOT)
printf '\n%s\nThe Go standard library and runtime, %s\n%s\n' "$rule" "$("$go" version "$bin" | awk '{print $2}')" "$rule"
license_of "$goroot" "the Go standard library"

"$go" version -m "$bin" | awk '$1 == "dep" { print $2, $3 } $1 == "=>" { print "replaced" }' | while read -r path ver; do
	if [ "$path" = replaced ]; then
		echo "copyright.sh: replaced modules are not handled" >&2
		exit 1
	fi
	dir=$("$go" mod download -json "$path@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	printf '\n%s\n%s %s\n%s\n' "$rule" "$path" "$ver" "$rule"
	if ! license_of "$dir" "$path"; then
		echo "copyright.sh: no license file in $path@$ver ($dir)" >&2
		exit 1
	fi
done
