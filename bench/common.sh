# Helpers shared by bench/run.sh and bench/redis-memory.sh (sourced, not
# run). The caller defines die() and WORK (a scratch folder) first; these set
# REDIS_PID, REDIS_PORT, REDIS_URL and use SERVER_PID.

# Sends TERM, waits up to five seconds, then KILL. Only ever our own children.
stop_pid() {
    local pid=$1
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# A loopback port nothing answers on. Another process could take it before
# we bind, but a clash shows up as a start-up failure, not wrong numbers.
free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    die "found no free port"
}

# A private redis-server on a free port, never the machine's own (6379).
start_redis() {
    REDIS_PORT=$(free_port)
    # No persistence: the benchmarks measure handoff, not Redis's disk.
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --logfile "$WORK/redis.log" &
    REDIS_PID=$!
    for _ in $(seq 50); do
        if [[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; then
            REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
            return
        fi
        kill -0 "$REDIS_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$WORK/redis.log" >&2 || true
    die "redis-server did not start on port $REDIS_PORT"
}

# wait_ready URL WHAT: until URL/readyz answers, or the server (SERVER_PID)
# has exited or ten seconds have passed; then its log and die.
wait_ready() {
    local url=$1 what=$2
    for _ in $(seq 100); do
        if curl -fsS -o /dev/null --max-time 1 "$url/readyz" 2>/dev/null; then
            return
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$WORK/server.log" >&2 || true
    die "$what did not become ready at $url"
}
