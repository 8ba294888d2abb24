#!/usr/bin/env bash
# Resident memory of a server while a large file is uploaded through the
# documents API: starts `hub-chantier serve` (the binary given, default
# target/release/hub-chantier) on DATABASE_URL (an empty database), creates
# an administrator, a chantier and a dossier, uploads SIZE_MIB (default 50)
# MiB of random bytes with curl, checks the stored sha256, and prints the
# process's VmRSS before and its peak (VmHWM) after. Linux only.
#
#   DATABASE_URL=postgres://…/empty apps/api/scripts/upload-memory.sh [BINARY]
#
# Used for the documents memory figure in docs/PERFORMANCE.md (issue 17).
set -euo pipefail

binary="${1:-target/release/hub-chantier}"
: "${DATABASE_URL:?set DATABASE_URL to an empty database}"
port="${PORT:-18091}"
size_mib="${SIZE_MIB:-50}"
work="$(mktemp -d)"
base="http://127.0.0.1:${port}/api/v1"

export JWT_SECRET="$(head -c 48 /dev/urandom | base64)"
export WEBHOOK_SECRETS_KEY="$(head -c 32 /dev/urandom | base64)"
export DOCUMENTS_STORAGE_DIR="${work}/store"
export RATE_LIMITS=off
mkdir -p "${work}/store"
{ "$binary" migrate &&
    printf 'mot-de-passe-long-1\n' | "$binary" create-admin --email admin@example.fr --password-stdin; } \
    >"${work}/setup.log" 2>&1 || { cat "${work}/setup.log" >&2; exit 1; }
HTTP_ADDR="127.0.0.1:${port}" METRICS_ADDR=off "$binary" serve >"${work}/server.log" 2>&1 &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -fsS "http://127.0.0.1:${port}/health/ready" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "${work}/server.log" >&2; exit 1; }
    sleep 0.5
done

call() { # METHOD PATH [JSON]
    curl -fsS -X "$1" "${base}$2" -H "Authorization: Bearer ${token:-}" \
        -H 'Content-Type: application/json' ${3:+--data "$3"}
}
token="$(call POST /auth/login '{"email":"admin@example.fr","password":"mot-de-passe-long-1"}' | jq -r .access_token)"
admin="$(call GET /auth/me | jq -r .id)"
chantier="$(call POST /chantiers "{\"code\":\"MEM-1\",\"nom\":\"Mesure\",\"adresse\":\"1 rue du Test\",\"conducteur_ids\":[\"${admin}\"]}" | jq -r .id)"
# The documents context learns of the chantier from its event.
for _ in $(seq 1 60); do
    dossier="$(call POST /documents/dossiers "{\"chantier_id\":\"${chantier}\",\"nom\":\"Plans\"}" 2>/dev/null | jq -r .id)" && break
    sleep 0.5
done
: "${dossier:?the documents context never learnt of the chantier}"

head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"${work}/plan.pdf"
sleep 5
before="$(awk '/^VmRSS/ {print $2}' "/proc/${pid}/status")"
uploaded="$(curl -fsS -H "Authorization: Bearer ${token}" \
    -F "file=@${work}/plan.pdf" "${base}/documents/dossiers/${dossier}/documents?chantier_id=${chantier}")"
peak="$(awk '/^VmHWM/ {print $2}' "/proc/${pid}/status")"
expected="$(sha256sum "${work}/plan.pdf" | cut -d' ' -f1)"
stored="$(jq -r .sha256 <<<"$uploaded")"
[ "$stored" = "$expected" ] || { echo "sha256 differs: ${stored} != ${expected}" >&2; exit 1; }
echo "upload of ${size_mib} MiB: sha256 matches; VmRSS before ${before} kB, peak (VmHWM) ${peak} kB"
