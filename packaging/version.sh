#!/bin/sh
# Prints the package version of this git checkout, for .deb and .rpm alike:
#   1.2.0                        at tag v1.2.0
#   1.2.0+git5.0123abc           five commits after it
#   1.3.0~rc1                    at tag v1.3.0-rc1 (sorts before 1.3.0)
#   0.0.0+git20261201093000.0123abc  before the first tag (commit time, UTC)
# Outside a checkout, give it to make: make package VERSION=1.2.0
set -eu
if d=$(git describe --tags --match 'v[0-9]*' --long 2>/dev/null); then
	sha=${d##*-g}
	rest=${d%-g*}
	n=${rest##*-}
	tag=${rest%-*}
	v=$(printf '%s' "${tag#v}" | tr -- - '~')
	if [ "$n" = 0 ]; then
		echo "$v"
	else
		echo "$v+git$n.$sha"
	fi
else
	when=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S)
	echo "0.0.0+git$when.$(git rev-parse --short=7 HEAD)"
fi
