#!/usr/bin/env bash
# Starts or stops the local stack: moto (AWS) and SecantusDB (MongoDB wire protocol),
# each on a free loopback port. `start` writes .stack/env for the tests to source;
# `stop` ends each server by the PID it recorded.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${PACKFORGE_STACK_DIR:-$root/.stack}"
venv="$root/.venv"

free_port() {
    "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for_port() {
    local name="$1" port="$2" pid="$3"
    for _ in $(seq 1 300); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "stack: $name exited during start; see $state/$name.log" >&2
            tail -20 "$state/$name.log" >&2 || true
            return 1
        fi
        if "$venv/bin/python" -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "stack: $name did not listen on port $port within 30 s" >&2
    return 1
}

start() {
    stop
    mkdir -p "$state"
    local moto_port mongo_port
    moto_port="$(free_port)"
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" > "$state/moto.log" 2>&1 &
    echo $! > "$state/moto.pid"

    # moto may not have bound its port yet, so the next free port can be the same one.
    mongo_port="$(free_port)"
    while [[ "$mongo_port" == "$moto_port" ]]; do
        mongo_port="$(free_port)"
    done
    rm -rf "$state/secantus-data"
    "$venv/bin/secantusd-py" --host 127.0.0.1 --port "$mongo_port" \
        --storage-path "$state/secantus-data" --log-level WARNING > "$state/secantus.log" 2>&1 &
    echo $! > "$state/secantus.pid"

    wait_for_port moto "$moto_port" "$(cat "$state/moto.pid")"
    wait_for_port secantus "$mongo_port" "$(cat "$state/secantus.pid")"
    cat > "$state/env" <<ENV
export PACKFORGE_MOTO_ENDPOINT=http://127.0.0.1:$moto_port
export PACKFORGE_MONGODB_ADDR=127.0.0.1:$mongo_port
ENV
    echo "stack: moto on $moto_port, secantus on $mongo_port" >&2
}

stop() {
    local pidfile pid
    for pidfile in "$state"/*.pid; do
        [[ -e "$pidfile" ]] || continue
        pid="$(cat "$pidfile")"
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    done
    rm -f "$state/env"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: scripts/stack.sh start|stop" >&2; exit 2 ;;
esac
