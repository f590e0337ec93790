#!/usr/bin/env bash
# bench/run.sh: sshwhy's benchmark, run by `make bench`.
#
# On one generated 10-million-line Debian 12 auth.log it measures, pinned to
# one core (taskset -c 0):
#   - sshwhy classify --format json FILE > /dev/null   (lines/s, peak RSS)
#   - grep -c sshd FILE                                 (the floor: reading the file)
#   - fail2ban-regex FILE sshd                          (on a slice, extrapolated)
# then scores sshwhy's causes against the generator's ground truth. Then, on
# event-dense logs (a connection ends every 4.7 lines: loggen -dense), of one
# host and of a central syslog of 16 hosts, it measures sshwhy on one core and
# on both (taskset -c 0,1), beside grep -c, fail2ban-regex and bin/floor
# (bench/floor: the lines grouped by pid and written back as events'
# evidence, no classification) on the same files; and it measures the same
# 1 M lines of bot traffic after 0, 10 k, 100 k and 1 M sessions that stay
# open (time, RSS, bytes per open connection). It runs the Go benchmarks and rewrites docs/benchmarks.md with
# the numbers, commands and machine. Generated files are cached in $BENCH_DIR.
#
# Environment (all optional):
#   BENCH_DIR=/tmp/sshwhy-bench  work directory (generated log, truth, raw outputs)
#   BENCH_LINES=10000000         lines in the generated log
#   BENCH_SEED=1                 generator seed
#   BENCH_RUNS=3                 timed sshwhy runs (the median is reported)
#   BENCH_F2B_LINES=1000000      fail2ban-regex slice; 0 runs it on the whole file
#   BENCH_GO=1                   0 skips the Go benchmarks
#   BENCH_DENSE_LINES=5000000    lines of each event-dense log
#   BENCH_SCALE=1                0 skips the open-sessions scaling runs
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
DENSE_LINES=${BENCH_DENSE_LINES:-5000000}
RUN_SCALE=${BENCH_SCALE:-1}
DOC=${BENCH_DOC:-docs/benchmarks.md}
INDEX_DOC=docs/benchmarks-index.md
AGENT_DOC=docs/benchmarks-agent.md
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
$GO build -o bin/floor ./bench/floor
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

# measure OUT NAME CMD...: run CMD pinned to core 0 (the cores in
# $CORES_SET when set), stdout to OUT, and set M_WALL M_USER M_SYS M_RSS_MB
# from GNU time.
measure() {
	local out=$1 name=$2
	shift 2
	say "running $name"
	$TIME -f '%e %U %S %M' -o "$BENCH_DIR/$name.time" taskset -c "${CORES_SET:-0}" "$@" >"$out" 2>"$BENCH_DIR/$name.err"
	read -r M_WALL M_USER M_SYS M_RSS_KB <"$BENCH_DIR/$name.time"
	M_RSS_MB=$(awk -v k="$M_RSS_KB" 'BEGIN {printf "%.1f", k/1024}')
}

# best NAME RUNS CMD...: measure CMD RUNS times (output to /dev/null) and
# set B_WALL B_CPU B_RSS to the run with the least wall time: on a shared
# machine the least disturbed.
best() {
	local name=$1 runs=$2 i
	shift 2
	B_WALL="" B_CPU="" B_RSS=""
	for i in $(seq 1 "$runs"); do
		measure /dev/null "$name-$i" "$@"
		if [ -z "$B_WALL" ] || awk -v a="$M_WALL" -v b="$B_WALL" 'BEGIN {exit !(a < b)}'; then
			B_WALL=$M_WALL B_CPU=$(cpu "$M_USER" "$M_SYS") B_RSS=$M_RSS_MB
		fi
	done
}

# gen FILE ARGS...: bin/loggen ARGS -o FILE, unless FILE was made by the
# same command and generator.
gen() {
	local file=$1
	shift
	local stamp="bin/loggen $* $(cat internal/loggen/*.go cmd/loggen/main.go | sha256sum | cut -c1-16)"
	if [ ! -e "$file" ] || [ "$(cat "$file.stamp" 2>/dev/null)" != "$stamp" ]; then
		say "generating $file"
		bin/loggen -q "$@" -o "$file"
		printf '%s\n' "$stamp" >"$file.stamp"
	fi
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

# --- event-dense and multi-host logs ---------------------------------------------
# One host (a single server's auth.log) and 16 hosts (a central syslog): the
# same mix, a connection ending every 4.7 lines, each event with its
# evidence. sshwhy on one core, then on both (its pipeline reads and matches,
# classifies and writes on three goroutines).
DENSE_ROWS=""
DENSE_SUMMARY=""
for hosts in 1 16; do
	f=$BENCH_DIR/dense-$hosts-$DENSE_LINES.log
	gen "$f" -n "$DENSE_LINES" -seed 3 -dense -noise 0 -users 0 -hosts "$hosts"
	cat "$f" >/dev/null
	n=$(wc -l <"$f")
	mb=$(($(stat -c %s "$f") / 1000000))
	ev=$(bin/sshwhy classify --format json "$f" 2>/dev/null | wc -l)
	best "dense$hosts-1core" "$RUNS" bin/sshwhy classify --format json "$f"
	w1=$B_WALL c1=$B_CPU r1=$B_RSS
	CORES_SET=0,1 best "dense$hosts-2cores" "$RUNS" bin/sshwhy classify --format json "$f"
	w2=$B_WALL c2=$B_CPU r2=$B_RSS
	# Not to /dev/null: GNU grep then stops at the first match.
	measure "$BENCH_DIR/dense$hosts-grep.out" "dense$hosts-grep" grep -c sshd "$f"
	gw=$M_WALL
	best "dense$hosts-floor" "$RUNS" bin/floor "$f"
	flw=$B_WALL flc=$B_CPU
	fw="-" fn=""
	if [ "$HAVE_F2B" = 1 ]; then
		head -n "$F2B_LINES" "$f" >"$BENCH_DIR/dense-slice.log"
		measure "$BENCH_DIR/dense-f2b.out" "dense$hosts-fail2ban" fail2ban-regex "$BENCH_DIR/dense-slice.log" sshd
		fw=$(awk -v w="$M_WALL" -v n="$F2B_LINES" -v t="$n" 'BEGIN {printf "%.0f", w*t/n}')
		fn=" (fail2ban-regex measured on the first $F2B_LINES lines: $M_WALL s, extrapolated)"
	fi
	speed=$(awk -v a="$w1" -v b="$w2" 'BEGIN {printf "%.2f", a/b}')
	DENSE_ROWS+="| $hosts | $n lines, $mb MB, $ev events | $w1 s, $(mrate "$n" "$w1") lines/s ($(mrate "$n" "$c1") per CPU-s), $r1 MB | $w2 s, $(mrate "$n" "$w2") lines/s (CPU $c2 s), $r2 MB | ${speed}× | $gw s | $flw s, $(mrate "$n" "$flw") lines/s ($(mrate "$n" "$flc") per CPU-s) | $fw s$fn |"$'\n'
	[ "$hosts" = 1 ] && D1_LPS=$(rate "$n" "$w1") D1_CPU_LPS=$(rate "$n" "$c1") D1_FLOOR_CPU_LPS=$(rate "$n" "$flc")
	[ "$hosts" = 16 ] && D16_SPEED=$speed D16_LPS1=$(rate "$n" "$w1") D16_LPS2=$(rate "$n" "$w2")
done

# --- open sessions ----------------------------------------------------------------
# The same 1 M lines of bot traffic (two hosts, no real users) after N logins
# on host bastion1 that stay open (loggen -open: 2 lines each, written first,
# no randomness, so the bot lines are the same bytes in every file). "bot
# lines" is the run's CPU time minus that of the N logins alone.
SCALE_ROWS=""
if [ "$RUN_SCALE" = 1 ]; then
	for n in 0 10000 100000 1000000; do
		f=$BENCH_DIR/open-$n.log p=$BENCH_DIR/prefix-$n.log
		gen "$f" -n 1000000 -seed 1 -users 0 -open "$n"
		gen "$p" -n 0 -seed 1 -users 0 -open "$n"
		cat "$f" >/dev/null
		lines=$((1000000 + 2 * n))
		best "open$n" "$RUNS" bin/sshwhy classify --format json "$f"
		ow=$B_WALL oc=$B_CPU orss=$B_RSS
		pc=0
		if [ "$n" != 0 ]; then
			best "prefix$n" "$RUNS" bin/sshwhy classify --format json "$p"
			pc=$B_CPU
		fi
		bot=$(awk -v a="$oc" -v b="$pc" 'BEGIN {printf "%.2f", a-b}')
		[ "$n" = 0 ] && BOT0=$bot RSS0=$orss
		vs=$(awk -v a="$bot" -v b="$BOT0" 'BEGIN {printf "%.2f", a/b}')
		per="-"
		[ "$n" != 0 ] && per=$(awk -v r="$orss" -v r0="$RSS0" -v n="$n" 'BEGIN {printf "%.0f", (r-r0)*1048576/n}')
		SCALE_ROWS+="| $n | $ow s | $oc s | $(mrate "$lines" "$ow") | $orss MB | $per | $bot s | ${vs}× |"$'\n'
		[ "$n" = 100000 ] && S100K=$vs
		[ "$n" = 1000000 ] && S1M_RSS=$orss S1M_PER=$per
	done
fi

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
	echo "| ≥ 2 M lines/s per core on an event-dense log | $(mrate "$D1_LPS" 1) lines/s wall, $(mrate "$D1_CPU_LPS" 1) per CPU-second (one host, one core, best of $RUNS) | wall: $(verdict "$D1_LPS" 2000000 ">="), CPU: $(verdict "$D1_CPU_LPS" 2000000 ">="); bin/floor, which only groups and writes the lines, $(mrate "$D1_FLOOR_CPU_LPS" 1) per CPU-second |"
	echo "| ≥ 1.7× that on two cores for a multi-host log | 16 hosts: $(mrate "$D16_LPS2" 1) lines/s on two cores, ${D16_SPEED}× its one-core $(mrate "$D16_LPS1" 1) | ${D16_SPEED}×: $(verdict "$D16_SPEED" 1.7 ">="); $(mrate "$D16_LPS2" 1) vs 1.7 × 2 M: $(verdict "$D16_LPS2" 3400000 ">=") |"
	if [ "$RUN_SCALE" = 1 ]; then
		echo "| 100 k open sessions ≤ 1.3× the time of none | ${S100K}× (CPU time of the same bot lines) | $(verdict "$S100K" 1.3 "<=") |"
		echo "| 1 M open sessions ≤ 1 GB | $S1M_RSS MB peak RSS, $S1M_PER bytes per open connection | $(verdict "$S1M_RSS" 1024 "<=") |"
	fi
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
	echo "## Event-dense logs, one host and sixteen"
	echo
	echo "\`bin/loggen -n $DENSE_LINES -seed 3 -dense -noise 0 -users 0 -hosts H\`: bots only (one password per brute-force connection, probes, old clients), a connection ends every 4.7 lines; H = 1 is one server's auth.log, H = 16 a central syslog. Each sshwhy time is the best of $RUNS runs of \`bin/sshwhy classify --format json FILE > /dev/null\`, pinned with \`taskset -c 0\` (one core) or \`taskset -c 0,1\` (both: the pipeline reads and matches, classifies, and writes on three goroutines; the output is byte-identical). grep is \`taskset -c 0 grep -c sshd FILE\`, fail2ban-regex \`taskset -c 0 fail2ban-regex SLICE sshd\`. floor is \`taskset -c 0 bin/floor FILE > /dev/null\` (bench/floor, best of $RUNS): each line copied into a string, grouped by pid in a map and, at the line that ends the connection, written as the evidence of a JSON event with sshwhy's encoder; no timestamp, rule, state or id. It is what any classifier that writes each event's evidence pays before it classifies anything."
	echo
	echo "| hosts | file | sshwhy, one core: wall, rate, peak RSS | sshwhy, two cores | speed-up | grep -c | floor | fail2ban-regex |"
	echo "|---:|---|---|---|---:|---:|---|---|"
	printf '%s' "$DENSE_ROWS"
	echo
	if [ "$RUN_SCALE" = 1 ]; then
		echo "## Open sessions"
		echo
		echo "The same 1 M lines of bot traffic after N logins that stay open (\`bin/loggen -n 1000000 -seed 1 -users 0 -open N\`; the N logins alone: \`-n 0\`), \`taskset -c 0 bin/sshwhy classify --format json FILE > /dev/null\`, best of $RUNS. \"bot lines\" is the run's CPU time minus the N logins' alone: what the same lines cost with N sessions open. Bytes per open connection: (peak RSS − peak RSS with none) / N, so it includes the garbage collector's headroom (tuneGC with classifyGC in cmd/sshwhy/gc.go: GOGC 1000, a soft limit of the live heap plus max(128 MiB, a quarter of it), never below 384 MiB); the Go benchmark BenchmarkOpenSessions below reports the Machine's own bytes (B/open)."
		echo
		echo "| open sessions | wall | CPU | lines/s (wall) | peak RSS | bytes per open connection | bot lines (CPU) | vs none |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
		printf '%s' "$SCALE_ROWS"
		echo
	fi
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
	echo
	echo "## The agent"
	echo
	if [ -s "$AGENT_DOC" ]; then
		# measured by hand (agentbench runs for an hour), headings shifted one level down
		sed -e 's/^# .*//' -e 's/^## /### /' "$AGENT_DOC"
	else
		echo "Not measured yet ($AGENT_DOC is absent)."
	fi
	echo
	echo "## The report and the fleet"
	echo
	echo "The report over 30 days × 100 k events: [benchmarks-report.md](benchmarks-report.md). Shipping to VictoriaLogs, a simulated fleet in a two-node cluster and the sizing note: [benchmarks-fleet.md](benchmarks-fleet.md) and [fleet.md](fleet.md). Many open connections in detail: [benchmarks-scaling.md](benchmarks-scaling.md)."
} >"$DOC.tmp"
mv "$DOC.tmp" "$DOC"
say "wrote $DOC"
