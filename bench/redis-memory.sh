#!/usr/bin/env bash
# Bytes of Redis per handoff, audit events included.
#
#   bash bench/redis-memory.sh                 # 20,000 secrets, half revealed
#   SECRETS=1000000 bash bench/redis-memory.sh
#
# Starts a private throw-away redis-server and one handoff server on free
# loopback ports, reads `used_memory` (INFO memory), stores SECRETS one-view
# secrets with examples/loadgen.rs (half of them only pushed, half pushed,
# opened and revealed, as `--mode handoff` does), waits for the audit writer
# to flush, reads `used_memory` again and reports the difference per secret,
# with what the keys are. Everything it starts is stopped on exit; the
# machine's own Redis (6379) is never touched.
#
# Settings (environment):
#   SECRETS       secrets stored                 [20000]
#   SECRET_BYTES  size of each secret            [40]
#   CONNECTIONS   keep-alive connections         [16]
#   PROFILE       cargo profile of the binaries  [release]
#   NO_BUILD=1    use the binaries already built
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECRETS=${SECRETS:-20000}
SECRET_BYTES=${SECRET_BYTES:-40}
CONNECTIONS=${CONNECTIONS:-16}
PROFILE=${PROFILE:-release}
TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-target}")
case $PROFILE in
    dev | debug) PROFILE_DIR=debug ;;
    *) PROFILE_DIR=$PROFILE ;;
esac
SERVER_BIN=$TARGET_DIR/$PROFILE_DIR/handoff
LOADGEN_BIN=$TARGET_DIR/$PROFILE_DIR/examples/loadgen

while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(HANDOFF_|RUST_LOG$)' || true)

die() {
    echo "redis-memory: $*" >&2
    exit 1
}

command -v redis-server >/dev/null || die "redis-server is needed (apt-get install redis-server)"
command -v redis-cli >/dev/null || die "redis-cli is needed (apt-get install redis-tools)"
command -v curl >/dev/null || die "curl is needed to wait for /readyz"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/handoff-memory.XXXXXX")
# shellcheck source=bench/common.sh
. bench/common.sh
SERVER_PID=""
REDIS_PID=""

cleanup() {
    stop_pid "$SERVER_PID"
    stop_pid "$REDIS_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z ${NO_BUILD:-} ]]; then
    echo "== building ($PROFILE)"
    cargo build --profile "$PROFILE" --bin handoff --example loadgen
fi
[[ -x $SERVER_BIN && -x $LOADGEN_BIN ]] || die "missing $SERVER_BIN or $LOADGEN_BIN; build them first"

start_redis
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
KEY=$("$SERVER_BIN" server-key)
METRICS_TOKEN=bench-metrics-token-$RANDOM$RANDOM
(
    cd "$WORK"
    export HANDOFF_LISTEN="127.0.0.1:$PORT" HANDOFF_STORE="redis://127.0.0.1:$REDIS_PORT" \
        HANDOFF_SERVER_KEY="$KEY" HANDOFF_FAILED_REVEALS_PER_MINUTE=0 HANDOFF_LOG=warn \
        HANDOFF_METRICS_TOKEN="$METRICS_TOKEN"
    exec "$SERVER_BIN" serve
) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_ready "$URL" "the server"

used_memory() { rcli info memory | awk -F: '/^used_memory:/ { print $2 + 0 }'; }
# Waits until the keys and the memory stop changing (the audit writer has
# flushed: it appends to records and streams, which adds no key).
settle() {
    local before after
    after="$(rcli dbsize) $(used_memory)"
    while :; do
        sleep 2
        before=$after
        after="$(rcli dbsize) $(used_memory)"
        [[ $before == "$after" ]] && break
    done
}

settle
BASE=$(used_memory)
PUSHED=$((SECRETS / 2))
HANDED=$((SECRETS - PUSHED))
load() {
    "$LOADGEN_BIN" --url "$URL" --mode "$1" --iterations "$2" --connections "$CONNECTIONS" \
        --warmup 0s --duration 1440m --secret-bytes "$SECRET_BYTES" >"$WORK/loadgen-$1.txt" \
        || { cat "$WORK/loadgen-$1.txt" >&2; die "loadgen --mode $1 failed"; }
}
echo "== $PUSHED pushed and left, $HANDED pushed, opened and revealed ($SECRET_BYTES-byte secrets)"
load create "$PUSHED"
load handoff "$HANDED"
settle
AFTER=$(used_memory)

# Every event should be in the store: the audit writer's queue is bounded
# and drops what it cannot take (counted in /metrics).
EVENTS=0
while read -r stream; do
    EVENTS=$((EVENTS + $(rcli xlen "$stream")))
done < <(rcli --scan --pattern 'handoff:{audit:*}')
DROPPED=$(curl -fsS -H "Authorization: Bearer $METRICS_TOKEN" "$URL/metrics" | awk '/^handoff_audit_dropped_total/ { n += $2 } END { print n + 0 }')
echo "redis:       $(redis-server --version | awk '{ sub("v=", "", $3); print $3 }')"
echo "events:      $EVENTS in the audit streams, $DROPPED dropped by the audit writer"
[[ $DROPPED == 0 ]] || echo "redis-memory: events were dropped, so the figure below is too low; use fewer CONNECTIONS" >&2
echo "keys:        $(rcli dbsize)"
echo "used_memory: $BASE -> $AFTER bytes"
awk -v a="$AFTER" -v b="$BASE" -v n="$SECRETS" \
    'BEGIN { printf "per handoff: %.0f bytes (%d secrets, half revealed, audit events included)\n", (a - b) / n, n }'

# What the bytes are: a sample of each kind of key.
echo "== a sample of keys (MEMORY USAGE, bytes)"
for pattern in 'handoff:{??????????????????????}' 'handoff:{exp:*}:*' 'handoff:{audit:*}'; do
    key=$(rcli --scan --pattern "$pattern" | head -n 1 || true)
    [[ -n $key ]] || continue
    count=$(rcli --scan --pattern "$pattern" | wc -l)
    printf '%-28s %8s keys, e.g. %s: %s bytes\n' "$pattern" "$count" "$key" \
        "$(rcli memory usage "$key" samples 0)"
done
