#!/usr/bin/env bash
# `make fuzz`: checks that the server keeps the contract of docs/openapi.json.
#
# Schemathesis (PyPI, pinned, in a project-local venv under .data/) generates
# requests for every operation of the committed document — valid ones and
# invalid ones — and sends them, as an administrator, to a server started on a
# fresh database. A run fails when an answer is a 5xx, has a status or a
# content type the document does not declare for that operation, or a body
# or headers that do not match the declared schema.
#
# Bounded in time (FUZZ_MAX_TIME seconds of generation, default 150) so that
# CI stays predictable; FUZZ_SEED makes a run reproducible (printed either way).
# Rate limits are off for the run: the fuzzer is one client sending thousands
# of requests, and a 429 would only hide the operation behind it.
set -euo pipefail

REPO_ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$REPO_ROOT"

SCHEMATHESIS_VERSION=4.32.5
# Hypothesis is pinned too (schemathesis's own requirement leaves it free),
# so that a seed replays the same cases on every machine.
HYPOTHESIS_VERSION="6.170.17"
VENV="$REPO_ROOT/.data/fuzz-venv"
PORT="${FUZZ_PORT:-18089}"
MAX_TIME="${FUZZ_MAX_TIME:-150}"
# A fixed seed by default keeps CI reproducible; FUZZ_SEED=random explores more.
SEED="${FUZZ_SEED:-1}"
[ "$SEED" = random ] && SEED=$(( (RANDOM << 15) | RANDOM ))
FUZZ_DB="hub_fuzz"
WORK="$REPO_ROOT/.data/fuzz"
CARGO="${CARGO:-cargo}"

log() { printf 'fuzz: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- schemathesis -----------------------------------------------------------
if [ ! -x "$VENV/bin/schemathesis" ] ||
    [ "$("$VENV/bin/schemathesis" --version 2>/dev/null | sed -n 's/.*version //p')" != "$SCHEMATHESIS_VERSION" ] ||
    [ "$("$VENV/bin/python" -c 'import hypothesis; print(hypothesis.__version__)' 2>/dev/null)" != "$HYPOTHESIS_VERSION" ]; then
    command -v python3 >/dev/null 2>&1 || die "python3 is needed (Debian: apt-get install python3 python3-venv)"
    log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" "hypothesis==$HYPOTHESIS_VERSION"
fi

# --- a fresh database -------------------------------------------------------
base_url="$(apps/api/scripts/dev-db.sh url)"
find_psql() {
    command -v psql 2>/dev/null && return 0
    local p
    for p in /usr/lib/postgresql/*/bin/psql; do
        [ -x "$p" ] && { printf '%s\n' "$p"; return 0; }
    done
    return 1
}
psql_bin="$(find_psql)" || die "psql not found (Debian: apt-get install postgresql-client)"
# Same server, other database: replace the path of the URL, keep its query.
server_url="${base_url%%\?*}"
query=""
[ "$server_url" != "$base_url" ] && query="?${base_url#*\?}"
admin_url="${server_url%/*}/postgres$query"
fuzz_url="${server_url%/*}/$FUZZ_DB$query"
PGOPTIONS="-c client_min_messages=warning" "$psql_bin" -q -v ON_ERROR_STOP=1 "$admin_url" \
    -c "DROP DATABASE IF EXISTS $FUZZ_DB WITH (FORCE)" \
    -c "CREATE DATABASE $FUZZ_DB" >/dev/null

# --- the server -------------------------------------------------------------
log "building the server (debug profile, shared with make test)"
"$CARGO" build -q -p hub-chantier
target_dir="$("$CARGO" metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/debug/hub-chantier"

mkdir -p "$WORK"
export DATABASE_URL="$fuzz_url"
export JWT_SECRET="fuzz-only-secret-0123456789abcdef0123456789"
WEBHOOK_SECRETS_KEY="$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
export WEBHOOK_SECRETS_KEY
export HTTP_ADDR="127.0.0.1:$PORT" RATE_LIMITS=off LOG_FORMAT=json RUST_LOG=warn
# The seeded webhook points at a closed local port: deliveries fail, which
# fills the delivery log the deliveries operations read.
export WEBHOOKS_ALLOW_HTTP=true WEBHOOKS_ALLOWED_CIDRS=127.0.0.0/8

password="fuzz-$(head -c 12 /dev/urandom | base64 | tr -d '/+=\n')"
"$bin" migrate >/dev/null
printf '%s\n' "$password" | "$bin" create-admin --email fuzz-admin@example.com --password-stdin >/dev/null

"$bin" serve >"$WORK/server.log" 2>&1 &
server_pid=$!
cleanup() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    if python3 - "$PORT" <<'EOF' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health/ready", timeout=1)
EOF
    kill -0 "$server_pid" 2>/dev/null || { cat "$WORK/server.log" >&2; die "the server stopped at start-up"; }
    sleep 0.2
done

token="$(python3 - "$PORT" "$password" <<'EOF'
import json, sys, urllib.request
body = json.dumps({"email": "fuzz-admin@example.com", "password": sys.argv[2]}).encode()
request = urllib.request.Request(
    f"http://127.0.0.1:{sys.argv[1]}/api/v1/auth/login",
    data=body, headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request, timeout=10))["access_token"])
EOF
)" || die "could not sign in as the fuzzing administrator"

# --- one resource of each kind, so operations on /{id} reach their logic --
python3 apps/api/scripts/fuzz_seed.py "http://127.0.0.1:$PORT" "$token" >"$WORK/schemathesis.toml" ||
    die "could not seed the fuzzing database"

# --- the run ----------------------------------------------------------------
log "schemathesis: every operation of docs/openapi.json, ${MAX_TIME}s, seed $SEED"
status=0
# From $WORK: schemathesis keeps its cache (.schemathesis/) in the current directory.
# One worker: with two threads, Hypothesis' lambda descriptions call
# ast.parse concurrently, which CPython 3.11 can fail with "SystemError: AST
# constructor recursion depth mismatch" (a run of 5 such errors in CI).
cd "$WORK"
"$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" run "$REPO_ROOT/docs/openapi.json" \
    --url "http://127.0.0.1:$PORT" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --phases examples,coverage,fuzzing \
    --max-time "$MAX_TIME" \
    --seed "$SEED" \
    --workers 1 \
    --request-timeout 10 \
    --exclude-path /api/v1/auth/logout \
    --report junit --report-dir "$WORK/report" || status=$?

if [ "$status" -ne 0 ]; then
    log "FAILED (seed $SEED); server log: $WORK/server.log, report: $WORK/report"
    log "reproduce: FUZZ_SEED=$SEED make fuzz"
fi
exit "$status"
