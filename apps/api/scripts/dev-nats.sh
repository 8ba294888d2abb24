#!/usr/bin/env bash
# NATS server with JetStream for development and tests (the cluster event bus,
# EVENT_BUS_URL, and the tests of hub-platform-nats).
#
#   dev-nats.sh url      ensure a JetStream server answers on 127.0.0.1:${HUB_NATS_PORT:-4222},
#                        then print its URL on stdout (and nothing else on stdout).
#                        When NATS_URL is already set, print it and do nothing else.
#                        A server already listening there is reused when it has
#                        JetStream (e.g. the machine's own); otherwise one is started.
#   dev-nats.sh start    the same, without printing the URL.
#   dev-nats.sh stop     stop the server this script started (never another one).
#   dev-nats.sh status   exit 0 when a JetStream server answers, 3 otherwise.
#
# The server this script starts stores under <repo>/.data/nats/ (git-ignored),
# logs to .data/nats.log and records its pid in .data/nats.pid. The binary is
# `nats-server` from PATH (or /usr/sbin); when it is missing and this runs as
# root with apt-get, Debian's `nats-server` package is installed.
#
# Human messages go to stderr; stdout carries only the URL (`url`).
set -euo pipefail

log() { printf 'dev-nats: %s\n' "$*" >&2; }
die() {
    printf 'dev-nats: error: %s\n' "$*" >&2
    exit 1
}

SCRIPT_DIR="$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -P "$SCRIPT_DIR/../../.." && pwd)"
grep -qs '^\[workspace\]' "$REPO_ROOT/Cargo.toml" ||
    die "cannot find the workspace root (expected a Cargo.toml with [workspace] in $REPO_ROOT)"

DATA_ROOT="$REPO_ROOT/.data"
STORE_DIR="$DATA_ROOT/nats"
LOG_FILE="$DATA_ROOT/nats.log"
PID_FILE="$DATA_ROOT/nats.pid"
PORT="${HUB_NATS_PORT:-4222}"
case "$PORT" in
    '' | *[!0-9]*) die "HUB_NATS_PORT must be a port number, got '$PORT'" ;;
esac
URL="nats://127.0.0.1:$PORT"

# The first line a NATS server sends is `INFO {…}`; it says `"jetstream":true`
# when JetStream is enabled. Empty when nothing (or no NATS) answers.
server_info() {
    (
        # In a subshell: the redirections below stay here.
        exec 2>/dev/null
        exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 0
        line=""
        read -r -t 3 line <&3 || true
        case "$line" in
            INFO*) printf '%s' "$line" ;;
            *) ;;
        esac
    )
}

has_jetstream() {
    local info
    info="$(server_info)"
    [ -n "$info" ] && [[ "$info" == *'"jetstream":true'* ]]
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

find_server() {
    command -v nats-server 2>/dev/null && return 0
    [ -x /usr/sbin/nats-server ] && { printf '%s\n' /usr/sbin/nats-server; return 0; }
    return 1
}

install_server() {
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "nats-server not found: installing Debian's nats-server package"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nats-server >&2 || {
            DEBIAN_FRONTEND=noninteractive apt-get update >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nats-server >&2
        }
        return 0
    fi
    die "nats-server not found: install it (Debian/Ubuntu: sudo apt-get install nats-server; macOS: brew install nats-server), or set NATS_URL to a JetStream-enabled server"
}

our_pid() {
    local pid
    [ -f "$PID_FILE" ] || return 0
    pid="$(tr -dc '0-9' <"$PID_FILE")"
    [ -n "$pid" ] || return 0
    case "$(ps -o comm= -p "$pid" 2>/dev/null || true)" in
        *nats-server*) printf '%s' "$pid" ;;
        *) ;;
    esac
}

ensure_up() {
    if has_jetstream; then
        return 0
    fi
    if port_in_use; then
        die "127.0.0.1:$PORT is taken by something that is not a JetStream-enabled NATS server; set HUB_NATS_PORT to a free port (or NATS_URL)"
    fi
    local server
    server="$(find_server)" || { install_server; server="$(find_server)" || die "nats-server installed but not found"; }
    mkdir -p "$STORE_DIR"
    log "starting $("$server" --version 2>/dev/null || echo nats-server) with JetStream on $URL (store $STORE_DIR, log $LOG_FILE)"
    # setsid: the server outlives the make recipe that started it (stop with `dev-nats.sh stop`).
    setsid "$server" -js -a 127.0.0.1 -p "$PORT" -sd "$STORE_DIR" -l "$LOG_FILE" -P "$PID_FILE" \
        </dev/null >/dev/null 2>&1 &
    local _
    for _ in $(seq 1 100); do
        has_jetstream && return 0
        sleep 0.1
    done
    tail -n 20 "$LOG_FILE" >&2 || true
    die "nats-server did not come up on $URL"
}

cmd_stop() {
    local pid
    pid="$(our_pid)"
    if [ -z "$pid" ]; then
        log "no NATS server started by this script is running"
        return 0
    fi
    log "stopping nats-server (pid $pid)"
    kill "$pid"
    local _
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$PID_FILE"; return 0; }
        sleep 0.1
    done
    die "nats-server (pid $pid) did not stop"
}

main() {
    case "${1:-}" in
        url)
            if [ -n "${NATS_URL:-}" ]; then
                printf '%s\n' "$NATS_URL"
                return 0
            fi
            ensure_up
            printf '%s\n' "$URL"
            ;;
        start) ensure_up ;;
        stop) cmd_stop ;;
        status)
            if ! has_jetstream; then
                echo "no JetStream server on $URL"
                return 3
            fi
            local pid
            pid="$(our_pid)"
            if [ -n "$pid" ]; then
                echo "running: JetStream on $URL, started by this script (pid $pid)"
            else
                echo "running: JetStream on $URL (not started by this script)"
            fi
            ;;
        *)
            echo "usage: dev-nats.sh <url|start|stop|status> (HUB_NATS_PORT, default 4222; NATS_URL to use another server)" >&2
            exit 2
            ;;
    esac
}

main "$@"
