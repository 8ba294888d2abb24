#!/usr/bin/env bash
# Project-local PostgreSQL for development and tests.
#
#   dev-db.sh url      ensure the cluster is up and the database exists, then print
#                      the DATABASE_URL on stdout (and nothing else on stdout).
#                      When DATABASE_URL is already set, print it and do nothing else.
#   dev-db.sh start    ensure the cluster is up and the database exists.
#   dev-db.sh stop     stop the cluster (fast shutdown) if it is running.
#   dev-db.sh status   print the state of the cluster; exit 0 when running,
#                      3 when stopped or not initialised (like `pg_ctl status`).
#
# The cluster lives under <repo>/.data/ (git-ignored):
#   .data/postgres/      data directory (initdb --auth=trust -U postgres, UTF8, locale C)
#   .data/run/           unix socket directory
#   .data/postgres.log   server log
# It listens on 127.0.0.1:${HUB_PG_PORT:-54329} only and never touches a system
# PostgreSQL. Server binaries (pg_ctl, initdb, postgres) come from PG_BINDIR when
# set, else from PATH or the usual install locations (highest version wins).
#
# initdb and pg_ctl refuse to run as root: when run as root, they run as the
# `postgres` OS user (created if missing), which then owns .data/postgres.
#
# Human messages go to stderr; stdout carries only the URL (`url`) or the
# status report (`status`).
set -euo pipefail

readonly DB_NAME="hub_chantier"
readonly DB_USER="postgres"
readonly PG_OS_USER="postgres"

log() { printf 'dev-db: %s\n' "$*" >&2; }
die() {
    printf 'dev-db: error: %s\n' "$*" >&2
    exit 1
}

usage() {
    cat >&2 <<'EOF'
usage: dev-db.sh <url|start|stop|status>
  url      start the project-local PostgreSQL if needed and print DATABASE_URL
           (prints $DATABASE_URL unchanged when it is already set)
  start    start the project-local PostgreSQL (under <repo>/.data/)
  stop     stop it
  status   report whether it runs (exit 0 running, 3 stopped)
environment: HUB_PG_PORT (default 54329), PG_BINDIR (server binaries directory)
EOF
}

# --------------------------------------------------------------------------
# Locations
# --------------------------------------------------------------------------

# Physical directory of this script, following symlinks (portable: no readlink -f).
script_dir() {
    local src="${BASH_SOURCE[0]}" dir
    while [ -L "$src" ]; do
        dir="$(cd -P "$(dirname "$src")" && pwd)"
        src="$(readlink "$src")"
        case "$src" in /*) ;; *) src="$dir/$src" ;; esac
    done
    cd -P "$(dirname "$src")" && pwd
}

SCRIPT_DIR="$(script_dir)"
# The script lives in <repo>/apps/api/scripts/.
REPO_ROOT="$(cd -P "$SCRIPT_DIR/../../.." && pwd)"
if ! grep -qs '^\[workspace\]' "$REPO_ROOT/Cargo.toml"; then
    die "cannot find the workspace root (expected a Cargo.toml with [workspace] in $REPO_ROOT)"
fi

DATA_ROOT="$REPO_ROOT/.data"
PGDATA_DIR="$DATA_ROOT/postgres"
RUN_DIR="$DATA_ROOT/run"
LOG_FILE="$DATA_ROOT/postgres.log"
LOCK_FILE="$DATA_ROOT/dev-db.lock"
# Settings this script owns; rewritten at every start, included from postgresql.conf.
HUB_CONF_NAME="hub_dev.conf"

PORT="${HUB_PG_PORT:-54329}"
case "$PORT" in
    '' | *[!0-9]*) die "HUB_PG_PORT must be a port number, got '$PORT'" ;;
esac
[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "HUB_PG_PORT out of range: $PORT"

DB_URL="postgres://${DB_USER}@127.0.0.1:${PORT}/${DB_NAME}"

# libpq variables from the caller's shell must not redirect our own client calls.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGOPTIONS \
    PGSSLMODE PGREQUIRESSL PGPASSWORD PGPASSFILE PGDATA PGTARGETSESSIONATTRS || true

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

# --------------------------------------------------------------------------
# PostgreSQL binaries
# --------------------------------------------------------------------------

install_hint() {
    cat >&2 <<'EOF'
dev-db: error: PostgreSQL server binaries (pg_ctl, initdb, postgres) were not found
on PATH nor under /usr/lib/postgresql/*/bin (or the other usual install places).
Install PostgreSQL 15 or newer, for example:
  Debian/Ubuntu:  sudo apt-get install postgresql
                  (binaries land in /usr/lib/postgresql/<version>/bin; this script finds them there)
  Fedora/RHEL:    sudo dnf install postgresql-server
  macOS:          brew install postgresql@16   (then put "$(brew --prefix postgresql@16)/bin" on PATH)
or point PG_BINDIR at a directory holding them, or set DATABASE_URL to an existing server.
EOF
}

# Major version of the pg_ctl in a directory ("15", "16", …), empty when unusable.
bindir_major() {
    local dir="$1" v
    [ -x "$dir/pg_ctl" ] && [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] || return 0
    v="$("$dir/pg_ctl" --version 2>/dev/null | sed -n 's/.*(PostgreSQL) \([0-9][0-9]*\).*/\1/p' | head -n 1)"
    printf '%s' "$v"
}

# Sets PG_BINDIR (and PG_MAJOR). If the data directory already exists, a binary
# set of the same major version is required (a newer server cannot open it).
find_pg_bindir() {
    local want="" cand major best="" best_major=0 p
    [ -f "$PGDATA_DIR/PG_VERSION" ] && want="$(cat "$PGDATA_DIR/PG_VERSION" 2>/dev/null || true)"

    if [ -n "${PG_BINDIR:-}" ]; then
        major="$(bindir_major "$PG_BINDIR")"
        [ -n "$major" ] || die "PG_BINDIR=$PG_BINDIR does not contain pg_ctl, initdb and postgres"
        if [ -n "$want" ] && [ "$want" != "$major" ]; then
            die "$PGDATA_DIR was created by PostgreSQL $want but PG_BINDIR holds version $major (remove $PGDATA_DIR to start afresh)"
        fi
        PG_MAJOR="$major"
        return 0
    fi

    local candidates=()
    p="$(command -v pg_ctl 2>/dev/null || true)"
    [ -n "$p" ] && candidates+=("$(dirname "$p")")
    for cand in /usr/lib/postgresql/*/bin /usr/pgsql-*/bin /usr/local/pgsql/bin \
        /opt/homebrew/opt/postgresql@*/bin /usr/local/opt/postgresql@*/bin \
        /opt/homebrew/opt/postgresql/bin /usr/local/opt/postgresql/bin; do
        [ -d "$cand" ] && candidates+=("$cand")
    done

    local matching=""
    for cand in ${candidates[@]+"${candidates[@]}"}; do
        major="$(bindir_major "$cand")"
        [ -n "$major" ] || continue
        if [ -n "$want" ] && [ "$major" = "$want" ] && [ -z "$matching" ]; then
            matching="$cand"
        fi
        if [ "$major" -gt "$best_major" ]; then
            best="$cand"
            best_major="$major"
        fi
    done

    if [ -z "$best" ]; then
        install_hint
        exit 1
    fi
    if [ -n "$want" ]; then
        [ -n "$matching" ] ||
            die "$PGDATA_DIR was created by PostgreSQL $want, but only version $best_major binaries were found; install PostgreSQL $want or remove $PGDATA_DIR to start afresh"
        PG_BINDIR="$matching"
        PG_MAJOR="$want"
    else
        PG_BINDIR="$best"
        PG_MAJOR="$best_major"
    fi
}

psql_bin() {
    if [ -x "$PG_BINDIR/psql" ]; then
        printf '%s' "$PG_BINDIR/psql"
    elif command -v psql >/dev/null 2>&1; then
        command -v psql
    else
        die "psql not found (install the PostgreSQL client, e.g. apt-get install postgresql-client)"
    fi
}

# --------------------------------------------------------------------------
# Running server commands as the right OS user
# --------------------------------------------------------------------------

# Runs a command as the postgres OS user when we are root, as ourselves otherwise.
# Runs from / so that an inaccessible working directory does not bother PostgreSQL,
# and without fd 9 (the lock), which a started server would otherwise keep open.
as_pg() {
    if [ "$IS_ROOT" -eq 1 ]; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u "$PG_OS_USER" -- "$@" 9>&-)
        else
            local cmd
            cmd="$(printf '%q ' "$@")"
            (cd / && su -s /bin/sh "$PG_OS_USER" -c "$cmd" 9>&-)
        fi
    else
        (cd / && "$@" 9>&-)
    fi
}

ensure_pg_os_user() {
    [ "$IS_ROOT" -eq 1 ] || return 0
    if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
        command -v useradd >/dev/null 2>&1 ||
            die "running as root: PostgreSQL must run as the '$PG_OS_USER' user, which does not exist, and useradd is unavailable"
        log "creating system user '$PG_OS_USER' (initdb/pg_ctl refuse to run as root)"
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /bin/sh "$PG_OS_USER" >&2
    fi
}

# When root, the postgres user must be able to reach .data/: every ancestor
# directory must be traversable by it.
check_traversable() {
    [ "$IS_ROOT" -eq 1 ] || return 0
    as_pg test -x "$DATA_ROOT" 2>/dev/null && return 0
    local dir="$DATA_ROOT" blocking=""
    while :; do
        if ! as_pg test -x "$dir" 2>/dev/null; then
            blocking="$dir"
        fi
        [ "$dir" = "/" ] && break
        dir="$(dirname "$dir")"
    done
    cat >&2 <<EOF
dev-db: error: PostgreSQL cannot run as root, so it runs as the '$PG_OS_USER' user, but that
user cannot reach $DATA_ROOT: the directory ${blocking:-$DATA_ROOT} is not traversable by it
($(ls -ld "${blocking:-$DATA_ROOT}" 2>/dev/null || echo '?')).
Fix one of:
  chmod o+x ${blocking:-$DATA_ROOT}            (let other users traverse it)
  clone the repository somewhere world-traversable (e.g. /srv or /opt)
  set DATABASE_URL to an existing PostgreSQL server
EOF
    exit 1
}

# --------------------------------------------------------------------------
# Cluster state
# --------------------------------------------------------------------------

pid_file() { printf '%s' "$PGDATA_DIR/postmaster.pid"; }

# PID of a live postmaster for our data directory, or empty. A postmaster.pid
# whose PID is dead or belongs to a non-postgres process is stale.
running_pid() {
    local pf pid comm
    pf="$(pid_file)"
    [ -f "$pf" ] || return 0
    pid="$(head -n 1 "$pf" 2>/dev/null | tr -dc '0-9')"
    [ -n "$pid" ] || return 0
    comm="$(ps -o comm= -p "$pid" 2>/dev/null || true)"
    case "$comm" in
        *postgres* | *postmaster*) printf '%s' "$pid" ;;
        *) ;;
    esac
}

# Port recorded in postmaster.pid (line 4).
running_port() { sed -n '4p' "$(pid_file)" 2>/dev/null | tr -dc '0-9'; }

remove_stale_pid_file() {
    local pf
    pf="$(pid_file)"
    if [ -f "$pf" ]; then
        log "removing stale $pf (server not running, probably after a crash or reboot)"
        rm -f "$pf"
    fi
    # The socket lock file is checked the same way by the postmaster.
    rm -f "$RUN_DIR/.s.PGSQL.$PORT.lock" "$RUN_DIR/.s.PGSQL.$PORT"
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# --------------------------------------------------------------------------
# Setup
# --------------------------------------------------------------------------

prepare_dirs() {
    mkdir -p "$DATA_ROOT" "$RUN_DIR" "$PGDATA_DIR"
    touch "$LOG_FILE"
    if [ "$IS_ROOT" -eq 1 ]; then
        chmod 755 "$DATA_ROOT"
        chown "$PG_OS_USER:" "$RUN_DIR" "$LOG_FILE"
        # The data directory (and everything in it) belongs to the server user.
        if [ "$(stat -c %U "$PGDATA_DIR" 2>/dev/null || stat -f %Su "$PGDATA_DIR" 2>/dev/null)" != "$PG_OS_USER" ]; then
            chown -R "$PG_OS_USER:" "$PGDATA_DIR"
        fi
        check_traversable
    fi
    chmod 700 "$PGDATA_DIR"
}

init_cluster() {
    [ -f "$PGDATA_DIR/PG_VERSION" ] && return 0
    if [ -n "$(ls -A "$PGDATA_DIR" 2>/dev/null)" ]; then
        # A data directory without PG_VERSION is a half-done initdb: start over.
        case "$PGDATA_DIR" in
            */.data/postgres) ;;
            *) die "refusing to clean unexpected data directory $PGDATA_DIR" ;;
        esac
        log "$PGDATA_DIR is an incomplete data directory (no PG_VERSION): re-initialising it"
        find "$PGDATA_DIR" -mindepth 1 -delete
    fi
    log "initialising a PostgreSQL $PG_MAJOR cluster in $PGDATA_DIR"
    if ! as_pg "$PG_BINDIR/initdb" -D "$PGDATA_DIR" --auth=trust -U "$DB_USER" \
        --encoding=UTF8 --locale=C >&2; then
        find "$PGDATA_DIR" -mindepth 1 -delete 2>/dev/null || true
        die "initdb failed (see messages above)"
    fi
    printf "\n# Project settings (written by apps/api/scripts/dev-db.sh at every start)\ninclude_if_exists = '%s'\n" \
        "$HUB_CONF_NAME" >>"$PGDATA_DIR/postgresql.conf"
}

conf_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }

write_settings() {
    local conf="$PGDATA_DIR/$HUB_CONF_NAME" socket_dirs
    # Unix socket paths are limited to ~107 bytes; with a very deep checkout fall
    # back to TCP only (every client of this cluster uses 127.0.0.1 anyway).
    if [ "${#RUN_DIR}" -gt 90 ]; then
        log "note: $RUN_DIR is too long for a unix socket path; listening on TCP only"
        socket_dirs=""
    else
        socket_dirs="$RUN_DIR"
    fi
    cat >"$conf" <<EOF
# Written by apps/api/scripts/dev-db.sh at every start; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = $(conf_quote "$socket_dirs")
# Each test gets its own database and the app its own pool: room for both.
max_connections = 200
shared_buffers = 128MB
# Durability stays ON: benchmarks and crash tests rely on real commit costs.
fsync = on
synchronous_commit = on
full_page_writes = on
timezone = 'UTC'
log_timezone = 'UTC'
datestyle = 'iso, ymd'
lc_messages = 'C'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
max_wal_size = 1GB
EOF
    if [ "$IS_ROOT" -eq 1 ]; then
        chown "$PG_OS_USER:" "$conf"
    fi
}

start_cluster() {
    local pid rport
    pid="$(running_pid)"
    if [ -n "$pid" ]; then
        rport="$(running_port)"
        if [ -n "$rport" ] && [ "$rport" != "$PORT" ]; then
            die "the local cluster already runs on port $rport, not $PORT (HUB_PG_PORT); run '$0 stop' first"
        fi
        return 0
    fi
    remove_stale_pid_file
    if port_in_use "$PORT"; then
        die "port $PORT on 127.0.0.1 is used by another process; set HUB_PG_PORT to a free port (or DATABASE_URL to an existing server)"
    fi
    write_settings
    log "starting PostgreSQL $PG_MAJOR on 127.0.0.1:$PORT (log: $LOG_FILE)"
    if ! as_pg "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" -l "$LOG_FILE" -w -t 120 start >&2; then
        log "pg_ctl start failed; last lines of $LOG_FILE:"
        tail -n 30 "$LOG_FILE" >&2 || true
        exit 1
    fi
}

ensure_database() {
    local psql exists
    psql="$(psql_bin)"
    exists="$("$psql" -X -A -t -q -h 127.0.0.1 -p "$PORT" -U "$DB_USER" -d postgres \
        -c "select 1 from pg_database where datname = '$DB_NAME'")" ||
        die "cannot connect to the local cluster on 127.0.0.1:$PORT (see $LOG_FILE)"
    [ "$exists" = "1" ] && return 0
    log "creating database $DB_NAME"
    local err
    if ! err="$("$psql" -X -q -h 127.0.0.1 -p "$PORT" -U "$DB_USER" -d postgres \
        -c "create database $DB_NAME encoding 'UTF8' template template0" 2>&1 >/dev/null)"; then
        # Another invocation may have created it concurrently.
        exists="$("$psql" -X -A -t -q -h 127.0.0.1 -p "$PORT" -U "$DB_USER" -d postgres \
            -c "select 1 from pg_database where datname = '$DB_NAME'")" || true
        [ "$exists" = "1" ] || die "could not create database $DB_NAME: $err"
    fi
}

# Serialises concurrent invocations (e.g. parallel make jobs) around start/stop.
take_lock() {
    mkdir -p "$DATA_ROOT"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$LOCK_FILE"
        flock -w 300 9 || die "timed out waiting for $LOCK_FILE"
    fi
}

ensure_up() {
    take_lock
    find_pg_bindir
    ensure_pg_os_user
    prepare_dirs
    init_cluster
    start_cluster
    ensure_database
}

# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------

cmd_url() {
    if [ -n "${DATABASE_URL:-}" ]; then
        printf '%s\n' "$DATABASE_URL"
        return 0
    fi
    ensure_up
    printf '%s\n' "$DB_URL"
}

cmd_start() {
    if [ -n "${DATABASE_URL:-}" ]; then
        log "note: DATABASE_URL is set, so make run/test use it rather than this local cluster"
    fi
    ensure_up
    log "ready: $DB_URL"
}

cmd_stop() {
    take_lock
    local pid
    pid="$(running_pid)"
    if [ -z "$pid" ]; then
        log "the local cluster is not running"
        return 0
    fi
    find_pg_bindir
    log "stopping PostgreSQL (pid $pid)"
    as_pg "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 120 stop >&2
}

cmd_status() {
    local pid
    if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
        echo "not initialised (no cluster in $PGDATA_DIR; '$0 start' creates it)"
        return 3
    fi
    pid="$(running_pid)"
    if [ -n "$pid" ]; then
        local rport
        rport="$(running_port)"
        echo "running: pid $pid, PostgreSQL $(cat "$PGDATA_DIR/PG_VERSION"), port ${rport:-?}, data $PGDATA_DIR"
        echo "url: postgres://${DB_USER}@127.0.0.1:${rport:-$PORT}/${DB_NAME}"
        return 0
    fi
    echo "stopped (data $PGDATA_DIR, log $LOG_FILE)"
    return 3
}

main() {
    case "${1:-}" in
        url) cmd_url ;;
        start) cmd_start ;;
        stop) cmd_stop ;;
        status) cmd_status ;;
        -h | --help | help)
            usage
            ;;
        *)
            usage
            exit 2
            ;;
    esac
}

main "$@"
