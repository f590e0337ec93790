#!/usr/bin/env bash
# Coverage of the rules on other projects' sshd test lines (../shared/corpora,
# not part of this repository and not needed by `make test`):
#   - every corpus line through `sshwhy rules test`: matched / unmatched / no header;
#   - the lines the corpora label as connection ends: which cause their rule names.
# Usage: bash bench/corpora-coverage.sh [CORPORA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
corpora=${1:-../shared/corpora}
go build -o bin/sshwhy ./cmd/sshwhy
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

echo "== all lines ($corpora/all-sshd-lines.log)"
bin/sshwhy rules test --all "$corpora/all-sshd-lines.log" > "$work/all.txt" || true
awk '$1=="UNMATCHED"{u++} $1=="-"{n++} $1!="UNMATCHED"&&$1!="-"&&$1!="#"{m++} END{printf "matched %d, unmatched %d, no header or other program %d\n", m, u, n}' "$work/all.txt"

echo "== connection-end lines (records with a disconnect_category)"
grep -F '"disconnect_category": "' "$corpora/all-sshd-records.jsonl" |
	sed -E 's/.*"line": "(([^"\\]|\\.)*)".*/\1/; s/\\"/"/g; s/\\\\/\\/g' > "$work/ends.log"
bin/sshwhy rules test --all "$work/ends.log" > "$work/ends.txt" || true
bin/sshwhy rules list | awk 'NR>1{print $1, $3}' > "$work/causes.txt"
awk 'NR==FNR{cause[$1]=$2; next} $1=="#"{next} {c = ($1 in cause) ? cause[$1] : $1; n[c]++} END{for (c in n) printf "%6d %s\n", n[c], c}' \
	"$work/causes.txt" "$work/ends.txt" | sort -rn
echo "(\"-\": no syslog header the parser knows, or a program without rules; \"UNMATCHED\": an sshd line no rule knows)"
grep -E '^(UNMATCHED|-) ' "$work/ends.txt" | cut -c34- | sed 's/^/  /' || true
