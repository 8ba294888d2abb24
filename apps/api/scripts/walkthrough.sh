#!/usr/bin/env bash
# Runs README.md's "First five minutes" section AS WRITTEN, so that the
# walkthrough cannot rot: every ```sh block of the section is executed, in
# order, from the repository root, in ONE bash shell (variables carry over
# from block to block, as in the reader's terminal).
#
# An HTML comment just before a block (invisible on GitHub) says how to run it
# (values in double or single quotes, or bare words):
#   <!-- walkthrough: background=NAME ready="TEXT" -->
#       the block runs in the background (the reader's other terminal), its
#       output in NAME.log; the walkthrough goes on once that output
#       contains TEXT
#   <!-- walkthrough: stdin="TEXT" -->    the block reads TEXT on its stdin
#                                         (what the reader types at a prompt)
#   <!-- walkthrough: expect="TEXT" -->   the block's output must contain TEXT
# and a comment followed by no block:
#   <!-- walkthrough: wait=NAME for="TEXT" -->
#       waits until background NAME's output contains TEXT
# Blocks without a comment run in the foreground and must succeed.
#
# Against a FRESH database: a new database on DATABASE_URL's server (or the
# project-local cluster's, see dev-db.sh), dropped at the end. The README's
# fixed ports (8080 for the API, 9000 for the listener) are replaced by free
# ones, so that a developer's running server does not get in the way.
#
# Needs curl and jq (as the README does). Environment: RUN_PROFILE (make's;
# `make test` passes dev, to reuse its build), WALKTHROUGH_TIMEOUT (seconds
# a background block may take to be ready, default 1800: a first build).
set -euo pipefail

REPO_ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
README="$REPO_ROOT/README.md"
SECTION="## First five minutes"
TIMEOUT="${WALKTHROUGH_TIMEOUT:-1800}"

say() { printf 'walkthrough: %s\n' "$*" >&2; }
die() {
    printf 'walkthrough: FAILED: %s\n' "$*" >&2
    exit 1
}

for tool in curl jq psql; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (apt-get install $tool)"
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hub-walkthrough.XXXXXX")"
BACKGROUND=()
DB_NAME=""
SERVER_URL=""
CURRENT_OUT=""
step=0

cleanup() {
    local status=$?
    local pid
    for pid in ${BACKGROUND[@]+"${BACKGROUND[@]}"}; do
        # Each background block leads its own process group (setsid):
        # make, cargo and the binary stop together. Right after the start,
        # setsid may not have made the group yet: then the process itself.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    # A graceful stop takes a few seconds (SHUTDOWN_TIMEOUT); then no mercy.
    local waited=0
    for pid in ${BACKGROUND[@]+"${BACKGROUND[@]}"}; do
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 300 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$DB_NAME" ]; then
        psql -X -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" \
            >/dev/null 2>&1 || say "could not drop database $DB_NAME"
    fi
    if [ "$status" -ne 0 ]; then
        if [ -n "$CURRENT_OUT" ] && [ -f "$CURRENT_OUT" ]; then
            say "step $step failed (status $status); its output:"
            sed 's/^/      /' "$CURRENT_OUT" >&2
        fi
        local log
        for log in "$WORK"/*.log; do
            [ -e "$log" ] || continue
            say "---- last lines of $(basename "$log") ----"
            tail -n 40 "$log" >&2
        done
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- the section

[ -f "$README" ] || die "$README not found"
awk -v section="$SECTION" '
    $0 == section { inside = 1; next }
    inside && /^## / { exit }
    inside { print }
' "$README" >"$WORK/section.md"
[ -s "$WORK/section.md" ] || die "README.md has no \"$SECTION\" section"

# ---------------------------------------------------------------- environment

cd "$REPO_ROOT"
SERVER_URL="$(apps/api/scripts/dev-db.sh url)"
DB_NAME="hub_walkthrough_$$_$(date +%s)"
psql -X -q -v ON_ERROR_STOP=1 "$SERVER_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null ||
    die "cannot create database $DB_NAME"
DATABASE_URL="$(python3 -c 'import sys, urllib.parse as u; p = u.urlparse(sys.argv[1]); print(p._replace(path="/" + sys.argv[2]).geturl())' "$SERVER_URL" "$DB_NAME")"
export DATABASE_URL
HTTP_PORT="$(free_port)"
LISTEN_PORT="$(free_port)"
export HTTP_ADDR="127.0.0.1:$HTTP_PORT" LISTEN_PORT
# The metrics listener's default port could be taken by a running server.
export METRICS_ADDR=off
say "fresh database $DB_NAME; API on :$HTTP_PORT (README: 8080), listener on :$LISTEN_PORT (README: 9000)"

# The README's commands with the test's ports.
localise() {
    sed -e "s/127\.0\.0\.1:8080/127.0.0.1:$HTTP_PORT/g" \
        -e "s/127\.0\.0\.1:9000/127.0.0.1:$LISTEN_PORT/g"
}

# ---------------------------------------------------------------- steps

# Attributes of the pending comment.
attr() { # attr NAME COMMENT
    sed -n -E "s/.*(^|[ :])$1=(\"([^\"]*)\"|'([^']*)'|([^ \"']+)).*/\\3\\4\\5/p" <<<"$2"
}

wait_for() { # wait_for NAME TEXT
    local name="$1" text="$2" log="$WORK/$1.log" pid_file="$WORK/$1.pid" waited=0
    [ -f "$log" ] || die "no background block named $name"
    until grep -qF -- "$text" "$log"; do
        if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
            grep -qF -- "$text" "$log" && break
            die "background block $name ended before printing \"$text\""
        fi
        [ "$waited" -lt $((TIMEOUT * 10)) ] || die "$name did not print \"$text\" within ${TIMEOUT}s"
        sleep 0.1
        waited=$((waited + 1))
    done
    say "$name printed \"$text\""
}

run_block() { # run_block COMMENT CODE-FILE
    local comment="$1" code background ready stdin expect
    code="$(localise <"$2")"
    step=$((step + 1))
    background="$(attr background "$comment")"
    ready="$(attr ready "$comment")"
    stdin="$(attr stdin "$comment")"
    expect="$(attr expect "$comment")"
    say "step $step:"
    sed 's/^/    $ /' <<<"$code" >&2
    if [ -n "$background" ]; then
        # Exported variables only: a background block is another terminal.
        : >"$WORK/$background.log"
        setsid bash -euo pipefail -c "$code" >"$WORK/$background.log" 2>&1 </dev/null &
        BACKGROUND+=("$!")
        echo "$!" >"$WORK/$background.pid"
        [ -z "$ready" ] || wait_for "$background" "$ready"
        return 0
    fi
    printf '%s\n' "$stdin" >"$WORK/stdin"
    [ -n "$stdin" ] || : >"$WORK/stdin"
    local out="$WORK/step-$step.out"
    CURRENT_OUT="$out"
    # In this shell (no subshell): its variables are the next blocks'. Not
    # in an `||` list either, which would turn errexit off inside the block:
    # a failing command stops the walkthrough (the EXIT trap shows why).
    eval "$code" >"$out" 2>&1 <"$WORK/stdin"
    CURRENT_OUT=""
    sed 's/^/      /' "$out" >&2
    if [ -n "$expect" ] && ! grep -qF -- "$expect" "$out"; then
        die "step $step did not print \"$expect\""
    fi
}

comment=""
in_block=0
blocks=0
while IFS= read -r line || [ -n "$line" ]; do
    if [ "$in_block" -eq 1 ]; then
        if [ "$line" = '```' ]; then
            in_block=0
            run_block "$comment" "$WORK/block"
            comment=""
            blocks=$((blocks + 1))
        else
            printf '%s\n' "$line" >>"$WORK/block"
        fi
        continue
    fi
    case "$line" in
        '<!-- walkthrough:'*)
            comment="$line"
            name="$(attr wait "$comment")"
            if [ -n "$name" ]; then
                wait_for "$name" "$(attr for "$comment")"
                comment=""
            fi
            ;;
        '```sh')
            in_block=1
            : >"$WORK/block"
            ;;
        '```'*) comment="" ;;
        *) ;;
    esac
done <"$WORK/section.md"

[ "$in_block" -eq 0 ] || die "unterminated code block in \"$SECTION\""
[ "$blocks" -ge 5 ] || die "only $blocks command blocks found in \"$SECTION\""
if [ -f "$WORK/listen.log" ]; then
    say "what the listener printed:"
    sed 's/^/      /' "$WORK/listen.log" >&2
fi
say "ok: $blocks command blocks of README.md's \"$SECTION\" ran as written"
