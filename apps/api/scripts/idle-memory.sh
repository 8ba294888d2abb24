#!/usr/bin/env bash
# Resident memory of an idle server: starts `hub-chantier serve` (the binary
# given, default target/release/hub-chantier) on DATABASE_URL with local
# settings, waits until it is ready and SETTLE seconds more, prints the
# memory lines of /proc/<pid>/status, then stops it. Linux only.
#
#   DATABASE_URL=postgres://… apps/api/scripts/idle-memory.sh [BINARY]
#
# Used for the idle figures in docs/PERFORMANCE.md (issues 12 and 17).
set -euo pipefail

binary="${1:-target/release/hub-chantier}"
: "${DATABASE_URL:?set DATABASE_URL to a database the server may migrate}"
port="${PORT:-18089}"
settle="${SETTLE:-20}"

JWT_SECRET="$(head -c 48 /dev/urandom | base64)" \
WEBHOOK_SECRETS_KEY="$(head -c 32 /dev/urandom | base64)" \
HTTP_ADDR="127.0.0.1:${port}" METRICS_ADDR=off \
    "$binary" serve >/dev/null 2>&1 &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:${port}/health/ready" >/dev/null 2>&1; then
        break
    fi
    kill -0 "$pid" 2>/dev/null || { echo "the server exited before it was ready" >&2; exit 1; }
    sleep 0.5
done
sleep "$settle"
grep -E '^(VmRSS|VmHWM|RssAnon|RssFile|Threads)' "/proc/${pid}/status"
