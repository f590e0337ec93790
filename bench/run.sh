#!/usr/bin/env bash
# bench/run.sh: sshwhy's benchmark, run by `make bench`.
#
# On one generated 10-million-line Debian 12 auth.log it measures, pinned to
# one core (taskset -c 0):
#   - sshwhy classify --format json FILE > /dev/null   (lines/s, peak RSS)
#   - grep -c sshd FILE                                 (the floor: reading the file)
#   - fail2ban-regex FILE sshd                          (on a slice, extrapolated)
# then scores sshwhy's causes against the generator's ground truth, runs the
# Go benchmarks, and rewrites docs/benchmarks.md with the numbers, commands and
# machine. The generated file is cached in $BENCH_DIR.
#
# Environment (all optional):
#   BENCH_DIR=/tmp/sshwhy-bench  work directory (generated log, truth, raw outputs)
#   BENCH_LINES=10000000         lines in the generated log
#   BENCH_SEED=1                 generator seed
#   BENCH_RUNS=3                 timed sshwhy runs (the median is reported)
#   BENCH_F2B_LINES=1000000      fail2ban-regex slice; 0 runs it on the whole file
#   BENCH_GO=1                   0 skips the Go benchmarks
#   BENCH_DOC=docs/benchmarks.md the report to write
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
BENCH_DIR=${BENCH_DIR:-/tmp/sshwhy-bench}
LINES=${BENCH_LINES:-10000000}
SEED=${BENCH_SEED:-1}
RUNS=${BENCH_RUNS:-3}
F2B_LINES=${BENCH_F2B_LINES:-1000000}
RUN_GO=${BENCH_GO:-1}
DOC=${BENCH_DOC:-docs/benchmarks.md}
INDEX_DOC=docs/benchmarks-index.md
TIME=/usr/bin/time

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# --- tools -----------------------------------------------------------------
if [ ! -x "$TIME" ]; then
	say "installing GNU time (Debian package time)"
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
	else
		sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
	fi
fi
[ -x "$TIME" ] || die "$TIME is missing (apt-get install time)"
command -v taskset >/dev/null || die "taskset is missing (apt-get install util-linux)"
HAVE_F2B=1
command -v fail2ban-regex >/dev/null || { HAVE_F2B=0; say "fail2ban-regex not installed: skipped (apt-get install fail2ban)"; }

mkdir -p "$BENCH_DIR" bin "$(dirname "$DOC")"
say "building bin/sshwhy and bin/loggen"
$GO build -o bin/sshwhy ./cmd/sshwhy
$GO build -o bin/loggen ./cmd/loggen
bin/sshwhy classify --help >/dev/null 2>&1 || die "bin/sshwhy classify does not run"

# --- input (cached) --------------------------------------------------------
LOG=$BENCH_DIR/auth-$LINES-$SEED.log
TRUTH=$BENCH_DIR/truth-$LINES-$SEED.jsonl
GEN_CMD="bin/loggen -n $LINES -seed $SEED -o $LOG -truth $TRUTH"
# The cache is valid for the same parameters and the same generator source.
STAMP="$GEN_CMD $(cat internal/loggen/*.go cmd/loggen/main.go | sha256sum | cut -c1-16)"
GEN_NOTE="cached from an earlier run"
if [ ! -s "$LOG" ] || [ ! -s "$TRUTH" ] || [ "$(cat "$LOG.stamp" 2>/dev/null)" != "$STAMP" ]; then
	say "generating $LINES lines into $LOG"
	rm -f "$LOG.stamp"
	$TIME -f '%e %M' -o "$BENCH_DIR/gen.time" $GEN_CMD 2>"$BENCH_DIR/gen.err"
	read -r gen_s gen_kb <"$BENCH_DIR/gen.time"
	GEN_NOTE="generated in this run: ${gen_s} s, peak RSS $((gen_kb / 1024)) MB"
	printf '%s\n' "$STAMP" >"$LOG.stamp"
	cp "$BENCH_DIR/gen.err" "$LOG.summary"
fi
GEN_SUMMARY=$(cat "$LOG.summary" 2>/dev/null || true)
SIZE_MB=$(($(stat -c %s "$LOG") / 1000000))
NLINES=$(wc -l <"$LOG")
[ "$NLINES" = "$LINES" ] || die "$LOG has $NLINES lines, want $LINES (delete it and rerun)"

say "warming the page cache"
cat "$LOG" >/dev/null

# --- machine ----------------------------------------------------------------
CPU_MODEL=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
CORES=$(nproc)
MEM=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
KERNEL=$(uname -r)
OS=$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || echo unknown)
[ -r /etc/debian_version ] && OS="$OS ($(cat /etc/debian_version))"
GOVER=$($GO version | awk '{print $3}')
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
F2B_VER=$( [ "$HAVE_F2B" = 1 ] && fail2ban-regex --version 2>/dev/null | head -1 || echo "not installed")
GREP_VER=$(grep --version | head -1)

# measure OUT NAME CMD...: run CMD pinned to core 0, stdout to OUT, and set
# M_WALL M_USER M_SYS M_RSS_MB from GNU time.
measure() {
	local out=$1 name=$2
	shift 2
	say "running $name"
	$TIME -f '%e %U %S %M' -o "$BENCH_DIR/$name.time" taskset -c 0 "$@" >"$out" 2>"$BENCH_DIR/$name.err"
	read -r M_WALL M_USER M_SYS M_RSS_KB <"$BENCH_DIR/$name.time"
	M_RSS_MB=$(awk -v k="$M_RSS_KB" 'BEGIN {printf "%.1f", k/1024}')
}
# rate N SECONDS: N/SECONDS rounded, or "-".
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%d", n/s; else print "-" }'; }
mrate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.2f M", n/s/1e6; else print "-" }'; }
# mrate prints "1.23 M"; callers append the unit with a space: "$(mrate …) lines/s"
cpu() { awk -v u="$1" -v s="$2" 'BEGIN {printf "%.2f", u+s}'; }

# --- sshwhy -------------------------------------------------------------------
CLASSIFY="bin/sshwhy classify --format json $LOG"
RUN_ROWS=""
WALLS=()
for i in $(seq 1 "$RUNS"); do
	measure /dev/null "sshwhy-$i" $CLASSIFY
	c=$(cpu "$M_USER" "$M_SYS")
	WALLS+=("$M_WALL $c $M_RSS_MB $i")
	RUN_ROWS+="| $i | $M_WALL | $c | $(mrate "$LINES" "$M_WALL") | $(mrate "$LINES" "$c") | $M_RSS_MB |"$'\n'
done
read -r S_WALL S_CPU S_RSS S_RUN < <(printf '%s\n' "${WALLS[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
S_MAXRSS=$(printf '%s\n' "${WALLS[@]}" | awk '$3 > m {m = $3} END {print m}')
S_SUMMARY=$(grep -h '^sshwhy:' "$BENCH_DIR/sshwhy-$S_RUN.err" | tail -1 || true)

# --- grep ---------------------------------------------------------------------
measure "$BENCH_DIR/grep.out" grep grep -c sshd "$LOG"
G_WALL=$M_WALL G_CPU=$(cpu "$M_USER" "$M_SYS") G_RSS=$M_RSS_MB
G_COUNT=$(cat "$BENCH_DIR/grep.out")

# --- fail2ban-regex -----------------------------------------------------------
F_NOTE="not installed" F_FULL_WALL="-"
if [ "$HAVE_F2B" = 1 ]; then
	F_INPUT=$LOG F_N=$LINES
	if [ "$F2B_LINES" != 0 ] && [ "$F2B_LINES" -lt "$LINES" ]; then
		F_INPUT=$BENCH_DIR/slice-$F2B_LINES.log F_N=$F2B_LINES
		head -n "$F2B_LINES" "$LOG" >"$F_INPUT"
	fi
	measure "$BENCH_DIR/fail2ban.out" fail2ban fail2ban-regex "$F_INPUT" sshd
	F_WALL=$M_WALL F_CPU=$(cpu "$M_USER" "$M_SYS") F_RSS=$M_RSS_MB
	F_LINES=$(grep -m1 '^Lines:' "$BENCH_DIR/fail2ban.out" || true)
	F_FULL_WALL=$(awk -v w="$F_WALL" -v n="$F_N" -v t="$LINES" 'BEGIN {printf "%.0f", w*t/n}')
	F_FULL_CPU=$(awk -v w="$F_CPU" -v n="$F_N" -v t="$LINES" 'BEGIN {printf "%.0f", w*t/n}')
	if [ "$F_N" = "$LINES" ]; then
		F_NOTE="whole file"
	else
		F_NOTE="measured on the first $F_N lines of the same file (the whole file is too slow to run every time); at that rate the whole file would take about ${F_FULL_WALL} s wall (${F_FULL_CPU} s CPU), extrapolated linearly (start-up time included, so slightly pessimistic), not measured"
	fi
fi

# --- accuracy -----------------------------------------------------------------
say "scoring sshwhy's causes against the ground truth"
ACCURACY=$(bin/sshwhy classify --format json "$LOG" 2>/dev/null | bin/loggen -score - -truth "$TRUTH" 2>&1) || ACCURACY="scoring failed: $ACCURACY"
# A second, smaller log: RFC 3339 timestamps and 30% of connections on an
# OpenSSH 10.0 host (sshd-session, listener grace lines, penalties).
MIX_LOG=$BENCH_DIR/mix.log MIX_TRUTH=$BENCH_DIR/mix-truth.jsonl
MIX_CMD="bin/loggen -q -n 1000000 -seed 2 -format rfc3339 -modern 0.3 -o $MIX_LOG -truth $MIX_TRUTH"
$MIX_CMD
MIX_ACCURACY=$(bin/sshwhy classify --format json "$MIX_LOG" 2>/dev/null | bin/loggen -score - -truth "$MIX_TRUTH" 2>&1) || MIX_ACCURACY="scoring failed: $MIX_ACCURACY"

# --- Go benchmarks ------------------------------------------------------------
GOBENCH="(skipped: BENCH_GO=0)"
if [ "$RUN_GO" = 1 ]; then
	say "running the Go benchmarks"
	GOBENCH=$($GO test -run '^$' -bench . -benchmem ./... 2>&1 | grep -v '^?\|no test files' || true)
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -------------------------------------------------------------------
verdict() { awk -v v="$1" -v lim="$2" -v op="$3" 'BEGIN { ok = (op == ">=") ? v >= lim : v <= lim; print ok ? "**met**" : "**not met**" }'; }
S_LPS_WALL=$(rate "$LINES" "$S_WALL")
S_LPS_CPU=$(rate "$LINES" "$S_CPU")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f×", a/b; else print "-" }'; }


F_LPS="-" F_RATIO="-" G_RATIO=$(ratio "$S_WALL" "$G_WALL")
if [ "$HAVE_F2B" = 1 ]; then
	F_LPS=$(rate "$F_N" "$F_WALL")
	F_RATIO=$(awk -v f="$F_FULL_WALL" -v s="$S_WALL" 'BEGIN {printf "%.0f×", f/s}')
fi

{
	echo "# Benchmarks"
	echo
	echo "*Written by \`make bench\` (\`bench/run.sh\`) on $(date -u '+%Y-%m-%d %H:%M UTC'), sshwhy commit \`$COMMIT\`$DIRTY."
	echo "Edit the script, not this file: the next run rewrites it.*"
	echo
	echo "## Summary"
	echo
	echo "| target (from the issue) | measured | verdict |"
	echo "|---|---|---|"
	echo "| classify ≥ 1.5 M lines/s on one core | $(mrate "$LINES" "$S_WALL") lines/s wall-clock; $(mrate "$LINES" "$S_CPU") lines per CPU-second (median of $RUNS runs) | wall: $(verdict "$S_LPS_WALL" 1500000 ">="), CPU: $(verdict "$S_LPS_CPU" 1500000 ">=") |"
	echo "| peak RSS ≤ 200 MB on 10 M lines | $S_MAXRSS MB (highest of $RUNS runs) | $(verdict "$S_MAXRSS" 200 "<=") |"
	echo
	echo "On the same file, one core each: sshwhy classify takes ${S_WALL} s, \`grep -c sshd\` ${G_WALL} s (sshwhy is ${G_RATIO} grep's time), and fail2ban-regex would take about ${F_FULL_WALL:--} s (${F_RATIO} sshwhy's time; $F_NOTE)."
	echo
	echo "Wall-clock numbers depend on what else the machine runs (load average ${LOAD_BEFORE} before, ${LOAD_AFTER} after, on $CORES cores): the CPU-second figures (user + sys from GNU time) are the steadier measure on a shared machine."
	echo
	echo "## Machine"
	echo
	echo "- CPU: $CPU_MODEL, $CORES cores (every timed command is pinned to core 0 with \`taskset -c 0\`)"
	echo "- Memory: $MEM; kernel $KERNEL; $OS"
	echo "- $GOVER; $GREP_VER; $F2B_VER"
	echo
	echo "## Input"
	echo
	echo "\`$GEN_CMD\` ($GEN_NOTE)."
	echo
	echo "- $NLINES lines, $SIZE_MB MB; $GEN_SUMMARY"
	echo "- A Debian 12 auth.log with BSD timestamps (rsyslog's RSYSLOG_TraditionalFileFormat; Debian 12's stock rsyslog.conf writes RFC 3339 instead, which the second accuracy run below covers): OpenSSH 9.2 with PAM on two hosts (one with AllowUsers), mostly bots (password guessing, scanners, old clients, MaxStartups bursts), real users' sessions from seconds to days, and about 20% CRON/sudo/systemd-logind lines. Connections interleave and pids wrap at 32768. See \`internal/loggen\`."
	echo "- The page cache is warmed (\`cat FILE > /dev/null\`) before timing, so every tool reads from memory."
	echo
	echo "## Single-core throughput"
	echo
	echo "| tool | command | wall s | CPU s | lines/s (wall) | lines per CPU-s | peak RSS MB |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	echo "| sshwhy (median run) | \`taskset -c 0 $CLASSIFY > /dev/null\` | $S_WALL | $S_CPU | $S_LPS_WALL | $S_LPS_CPU | $S_RSS |"
	echo "| grep | \`taskset -c 0 grep -c sshd $LOG\` → $G_COUNT | $G_WALL | $G_CPU | $(rate "$LINES" "$G_WALL") | $(rate "$LINES" "$G_CPU") | $G_RSS |"
	if [ "$HAVE_F2B" = 1 ]; then
		echo "| fail2ban-regex | \`taskset -c 0 fail2ban-regex $F_INPUT sshd\` ($F_N lines) | $F_WALL | $F_CPU | $F_LPS | $(rate "$F_N" "$F_CPU") | $F_RSS |"
	else
		echo "| fail2ban-regex | not installed | | | | | |"
	fi
	echo
	[ "$HAVE_F2B" = 1 ] && echo "fail2ban-regex: $F_NOTE. Its own count: \`$F_LINES\`." && echo
	echo "sshwhy's runs:"
	echo
	echo "| run | wall s | CPU s | lines/s (wall) | lines per CPU-s | peak RSS MB |"
	echo "|---:|---:|---:|---:|---:|---:|"
	printf '%s' "$RUN_ROWS"
	echo
	echo "sshwhy's summary (stderr of the median run):"
	echo
	echo '```'
	echo "$S_SUMMARY"
	echo '```'
	echo
	echo "## Accuracy on the generated log"
	echo
	echo "\`bin/sshwhy classify --format json $LOG | bin/loggen -score - -truth $TRUTH\`: each event is matched to the generator's ground truth by host and source address/port (or pid), and its cause compared. Recall = correct / truth records of the cause; precision = correct / matched events claiming the cause."
	echo
	echo "$ACCURACY"
	echo
	echo "### With OpenSSH 10.0 and RFC 3339 timestamps"
	echo
	echo "\`$MIX_CMD\`, then the same scoring:"
	echo
	echo "$MIX_ACCURACY"
	echo
	echo "## Go benchmarks"
	echo
	echo "\`$GO test -run '^\$' -bench . -benchmem ./...\` (not pinned; both cores):"
	echo
	echo '```'
	echo "$GOBENCH"
	echo '```'
	echo
	echo "## Index and search"
	echo
	if [ -s "$INDEX_DOC" ]; then
		# the index engineer's numbers, headings shifted one level down
		sed -e 's/^# .*//' -e 's/^## /### /' "$INDEX_DOC"
	else
		echo "Not measured yet ($INDEX_DOC is absent)."
	fi
} >"$DOC.tmp"
mv "$DOC.tmp" "$DOC"
say "wrote $DOC"
