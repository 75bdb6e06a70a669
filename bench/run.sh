#!/usr/bin/env bash
# Throughput and latency of the handoff JSON API, per store.
#
#   bash bench/run.sh                      # from the repository root
#   DURATION=30s STORES="memory redis" bash bench/run.sh
#
# For each store (memory, redis, embedded) and each mode (create, handoff)
# this starts a fresh server on a free loopback port (and, for redis, a
# private throw-away redis-server on its own port), drives it with
# examples/loadgen.rs, and records throughput, latency, the peak RSS of the
# server and redis, and the CPU time of the server, redis, the load generator
# and everything else on the machine. Everything it starts is stopped on
# exit; the machine's own Redis (6379) is never touched.
#
# For memory and redis, each handoff run is followed at once by a run of the
# bare reference server (bench/reference.rs: seal, store, take out and open,
# nothing else) on the same kind of store through the same load generator,
# and the summary ends with handoff's rate as a ratio of the reference's.
# The embedded store has no reference; its ratio is to the memory store.
#
# Settings (environment):
#   DURATION      measured time per run          [10s]
#   WARMUP        unmeasured load before it       [2s]
#   CONNECTIONS   keep-alive connections          [32]
#   SECRET_BYTES  size of each secret             [40]
#   STORES        stores to run                   ["memory redis embedded"]
#   MODES         loadgen modes to run            ["create handoff"]
#   PRELOAD       secrets stored before measuring [0]
#   PASSPHRASE    push and reveal with this passphrase (Argon2id) [unset]
#   ROUNDS        times to run it all; ratios are then medians  [1]
#   NO_BUILD=1    use the binaries already built
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
SECRET_BYTES=${SECRET_BYTES:-40}
STORES=${STORES:-memory redis embedded}
MODES=${MODES:-create handoff}
PRELOAD=${PRELOAD:-0}
PASSPHRASE=${PASSPHRASE:-}
ROUNDS=${ROUNDS:-1}
TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-target}")
SERVER_BIN=$TARGET_DIR/release/handoff
LOADGEN_BIN=$TARGET_DIR/release/examples/loadgen
REFERENCE_BIN=$TARGET_DIR/release/examples/reference

# Settings from the caller's environment must not leak into the server.
while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(HANDOFF_|RUST_LOG$)' || true)

die() {
    echo "bench: $*" >&2
    exit 1
}

[[ $PRELOAD =~ ^[0-9]+$ ]] || die "PRELOAD must be a number of secrets, not '$PRELOAD'"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a number of rounds (1 or more), not '$ROUNDS'"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/handoff-bench.XXXXXX")
# shellcheck source=bench/common.sh
. bench/common.sh
SERVER_PID=""
REDIS_PID=""

stop_server() {
    stop_pid "$SERVER_PID"
    SERVER_PID=""
}

stop_redis() {
    stop_pid "$REDIS_PID"
    REDIS_PID=""
}

cleanup() {
    stop_server
    stop_redis
    rm -rf "$WORK"
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap cleans up.
trap 'exit 130' INT
trap 'exit 143' TERM

# CPU time (user + system, all threads) of a process, in clock ticks.
cpu_ticks() {
    local pid=$1
    [[ -n $pid && -r /proc/$pid/stat ]] || { echo 0; return; }
    # Fields counted after the ")" closing the command name.
    sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }'
}

# CPU time all processes on the machine spent (user, nice, system; not
# interrupts or steal), in clock ticks: what the benchmark's own processes
# did not use, something else did.
machine_busy_ticks() {
    awk '/^cpu / { print $2 + $3 + $4; exit }' /proc/stat
}

# percent TICKS SECONDS: CPU ticks as % of one core over SECONDS.
percent() {
    awk -v t="$1" -v w="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.0f%%", 100 * t / hz / w }'
}

# VmHWM: the most memory the process ever had resident, in MiB.
peak_rss() {
    [[ -r /proc/$1/status ]] || { echo -; return; }
    awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# start_server STORE_SETTING [SERVER_KEY]
start_server() {
    local store=$1 key=${2:-} port
    port=$(free_port)
    SERVER_URL="http://127.0.0.1:$port"
    # Run from the scratch folder so no handoff.toml is picked up.
    (
        cd "$WORK"
        export HANDOFF_LISTEN="127.0.0.1:$port" HANDOFF_STORE="$store" \
            HANDOFF_FAILED_REVEALS_PER_MINUTE=0 HANDOFF_LOG=warn
        [[ -z $key ]] || export HANDOFF_SERVER_KEY="$key"
        exec "$SERVER_BIN" serve
    ) >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    wait_ready "$SERVER_URL" "the server"
}

# start_reference STORE_SETTING: the bare reference server (bench/reference.rs).
start_reference() {
    local port
    port=$(free_port)
    SERVER_URL="http://127.0.0.1:$port"
    "$REFERENCE_BIN" --listen "127.0.0.1:$port" --store "$1" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    wait_ready "$SERVER_URL" "the reference server"
}

declare -A MEMORY_RATE=()

command -v curl >/dev/null || die "curl is needed to wait for /readyz"
CLK_TCK=$(getconf CLK_TCK)

if [[ -z ${NO_BUILD:-} ]]; then
    echo "== building release binaries"
    cargo build --release --bin handoff --example loadgen --example reference
fi
[[ -x $SERVER_BIN && -x $LOADGEN_BIN && -x $REFERENCE_BIN ]] ||
    die "missing $SERVER_BIN, $LOADGEN_BIN or $REFERENCE_BIN; build them first"

echo "== machine"
echo "cpu:    $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "kernel: $(uname -r)"
if command -v redis-server >/dev/null; then
    echo "redis:  $(redis-server --version | awk '{ sub("v=", "", $3); print $3 }')"
fi
echo "runs:   $CONNECTIONS connections, $DURATION measured after $WARMUP warm-up, $SECRET_BYTES-byte secrets"
[[ $PRELOAD -eq 0 ]] || echo "        $PRELOAD secrets stored before each run"
[[ -z $PASSPHRASE ]] || echo "        every secret pushed and revealed with a passphrase"

ROWS=()
# Per "store mode", in the order first measured: handoff's rate, the
# reference's (or the memory store's) and their ratio, one per round.
declare -A HANDOFF_RATES=() REFERENCE_RATES=() RATIO_OF=() COMPARED_WITH=()
RATIO_ORDER=()
ROW='%-9s %-8s %-11s %9s %10s %7s %7s %7s %7s %6s %7s %9s %7s %9s %6s %9s'
FAILED=0

# add_ratio STORE MODE HANDOFF_RATE REFERENCE_RATE [NOTE]: one round's ratio.
add_ratio() {
    local key="$1 $2"
    [[ -n ${RATIO_OF[$key]+set} ]] || RATIO_ORDER+=("$key")
    HANDOFF_RATES[$key]+=" $3"
    REFERENCE_RATES[$key]+=" $4"
    RATIO_OF[$key]+=" $(awk -v a="$3" -v b="$4" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')"
    COMPARED_WITH[$key]=${5:-}
}

# median VALUES...: the middle value (the mean of the two middle ones).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# preload: stores PRELOAD one-view secrets (1-hour TTL, never revealed) in
# the server started last, so that the run measures a store that already
# holds them. Its CPU is not counted; its memory is (the peak RSS).
preload() {
    [[ $PRELOAD -gt 0 ]] || return 0
    echo "-- storing $PRELOAD secrets first"
    local began
    began=$(date +%s.%N)
    "$LOADGEN_BIN" --url "$SERVER_URL" --mode create --connections "$CONNECTIONS" \
        --iterations "$PRELOAD" --duration 600m --warmup 0s --secret-bytes "$SECRET_BYTES" \
        >"$WORK/preload.txt" || { cat "$WORK/preload.txt"; die "storing $PRELOAD secrets failed"; }
    local stored
    stored=$(awk '/^requests/ { print $2 }' "$WORK/preload.txt")
    [[ $stored -eq $PRELOAD ]] || { cat "$WORK/preload.txt"; die "stored $stored of $PRELOAD secrets"; }
    echo "-- stored in $(awk -v a="$began" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s"
}

# measure SERVER STORE MODE: one run of the load generator against the
# server started last (after preload); appends a summary row and sets RATE
# (req/s).
measure() {
    local server=$1 store=$2 mode=$3
    local out=$WORK/$server-$store-$mode.txt
    preload
    local server_before redis_before machine_before started status wall
    server_before=$(cpu_ticks "$SERVER_PID")
    redis_before=$(cpu_ticks "$REDIS_PID")
    machine_before=$(machine_busy_ticks)
    started=$(date +%s.%N)
    status=ok
    if ! "$LOADGEN_BIN" --url "$SERVER_URL" --mode "$mode" --connections "$CONNECTIONS" \
        --duration "$DURATION" --warmup "$WARMUP" --secret-bytes "$SECRET_BYTES" \
        ${PASSPHRASE:+--passphrase "$PASSPHRASE"} | tee "$out"; then
        status=failed
        FAILED=1
    fi
    wall=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    local machine_ticks server_ticks redis_ticks server_cpu redis_cpu rss redis_rss
    machine_ticks=$(($(machine_busy_ticks) - machine_before))
    server_ticks=$(($(cpu_ticks "$SERVER_PID") - server_before))
    redis_ticks=$(($(cpu_ticks "$REDIS_PID") - redis_before))
    server_cpu=$(percent "$server_ticks" "$wall")
    redis_cpu=-
    [[ -z $REDIS_PID ]] || redis_cpu=$(percent "$redis_ticks" "$wall")
    rss=$(peak_rss "$SERVER_PID")
    redis_rss=-
    [[ -z $REDIS_PID ]] || redis_rss=$(peak_rss "$REDIS_PID")
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        status=failed
        FAILED=1
    fi
    stop_server
    stop_redis
    if [[ $status == failed ]]; then
        echo "-- server log (tail):"
        tail -n 20 "$WORK/server.log" || true
    fi

    # Fields of loadgen's report; see examples/loadgen.rs.
    local rps handoffs p50 p99 p999 max errors loadgen_cpu other_cpu
    rps=$(awk '/^requests/ { print $6 }' "$out")
    handoffs=$(awk '/^handoffs/ { sub("/s", "", $4); print $4 }' "$out")
    read -r p50 p99 p999 max < <(awk '/^latency/ { print $3, $6, $9, $12 }' "$out") || true
    errors=$(awk '/^requests/ { print $4 }' "$out")
    loadgen_cpu=$(awk '/^loadgen cpu/ { print $5 }' "$out")
    # Whatever else ran meanwhile (builds, other services) skews the
    # numbers; show it rather than hide it.
    other_cpu=$(awk -v m="$machine_ticks" -v s="$server_ticks" -v r="$redis_ticks" -v l="${loadgen_cpu%\%}" \
        -v hz="$CLK_TCK" -v w="$wall" 'BEGIN { o = 100 * (m - s - r) / hz / w - l; printf "%.0f%%", o < 0 ? 0 : o }')
    local label=$server
    [[ $ROUNDS -eq 1 ]] || label="$server/$ROUND"
    # shellcheck disable=SC2059 # the format is ours
    ROWS+=("$(printf "$ROW" "$store" "$mode" "$label" "${rps:--}" "${handoffs:--}" "${p50:--}" "${p99:--}" \
        "${p999:--}" "${max:--}" "${errors:--}" "$rss" "$redis_rss" "$server_cpu" "$redis_cpu" \
        "${loadgen_cpu:--}" "$other_cpu")")
    RATE=${rps:-0}
    [[ $mode != handoff ]] || RATE=${handoffs:-0}
}

for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    [[ $ROUNDS -eq 1 ]] || { echo; echo "==== round $ROUND of $ROUNDS"; }
    for store in $STORES; do
        case $store in
            memory | embedded) ;;
            redis)
                if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
                    echo "== redis: skipped (redis-server or redis-cli not installed)"
                    continue
                fi
                ;;
            *) die "unknown store '$store' (memory, redis or embedded)" ;;
        esac

        for mode in $MODES; do
            echo
            echo "== $store / $mode / handoff"
            # A fresh server (and store) per run: each starts empty, and the
            # peak RSS belongs to that run alone.
            key=""
            case $store in
                memory) setting=memory ;;
                redis)
                    start_redis
                    setting=$REDIS_URL
                    key=$("$SERVER_BIN" server-key)
                    ;;
                embedded)
                    setting=$WORK/embedded-$mode
                    rm -rf "$setting"
                    mkdir -p "$setting"
                    ;;
            esac
            start_server "$setting" "$key"
            measure handoff "$store" "$mode"
            handoff_rate=$RATE
            [[ $store != memory ]] || MEMORY_RATE[$mode]=$handoff_rate

            # The bare reference on the same store kind, right after, through
            # the same load generator: the ratio is what handoff's extra work
            # (key derivation, key check, idempotency, audit, metrics) costs.
            case $store in
                memory) setting=memory ;;
                redis)
                    start_redis
                    setting=$REDIS_URL
                    ;;
                embedded)
                    # No bare reference for a durable store: compared with the
                    # memory store instead.
                    if [[ -n ${MEMORY_RATE[$mode]:-} ]]; then
                        add_ratio "$store" "$mode" "$handoff_rate" "${MEMORY_RATE[$mode]}" "(of the memory store)"
                    fi
                    continue
                    ;;
            esac
            echo
            echo "== $store / $mode / reference"
            start_reference "$setting"
            measure reference "$store" "$mode"
            add_ratio "$store" "$mode" "$handoff_rate" "$RATE"
        done
    done
done

echo
stored_first=""
[[ $PRELOAD -eq 0 ]] || stored_first=", $PRELOAD secrets stored first"
echo "== summary ($CONNECTIONS connections, $DURATION after $WARMUP warm-up$stored_first)"
echo "   latency: ms per request; peak RSS: MiB; CPU: % of one core over the run, $(nproc) cores in all;"
echo "   other: CPU used meanwhile by processes outside the benchmark"
# shellcheck disable=SC2059 # the format is ours
printf "$ROW\n" store mode server "req/s" "handoffs/s" p50 p99 p99.9 max errors rss:srv rss:redis \
    cpu:srv cpu:redis cpu:lg cpu:other
for row in "${ROWS[@]}"; do
    echo "$row"
done
echo
echo "== handoff against the bare reference (create: req/s; handoff: handoffs/s)"
[[ $ROUNDS -eq 1 ]] || echo "   medians of $ROUNDS rounds; range: the lowest and highest ratio of a round"
printf '%-9s %-8s %10s %10s %6s %11s\n' store mode handoff reference ratio "$([[ $ROUNDS -eq 1 ]] || echo range)"
for key in "${RATIO_ORDER[@]}"; do
    read -r store mode <<<"$key"
    # shellcheck disable=SC2086 # each list is space-separated numbers
    {
        ratios=$(printf '%s\n' ${RATIO_OF[$key]} | sort -g)
        range=""
        [[ $ROUNDS -eq 1 ]] || range=$(printf '%.2f–%.2f' "$(head -n 1 <<<"$ratios")" "$(tail -n 1 <<<"$ratios")")
        printf '%-9s %-8s %10.1f %10.1f %6.2f %11s %s\n' "$store" "$mode" \
            "$(median ${HANDOFF_RATES[$key]})" "$(median ${REFERENCE_RATES[$key]})" \
            "$(median ${RATIO_OF[$key]})" "$range" "${COMPARED_WITH[$key]}"
    }
done
exit "$FAILED"
