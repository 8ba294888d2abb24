#!/usr/bin/env bash
# Several instances under load: the end-to-end cluster test
# (apps/api/tests/it/cluster.rs) with 5,000 events instead of 600, its
# figures printed at the end. Three `hub-chantier serve` processes on one
# PostgreSQL database and the NATS JetStream bus, one webhook receiver;
# events created through all three, one SIGKILLed midway; it checks that
# every event is delivered (duplicates bounded by the killed instance's
# in-flight deliveries), that both survivors delivered, that retention ran
# once for its period and that the event history is the same everywhere.
#
#   tests/load/cluster.sh            5,000 events
#   EVENTS=20000 tests/load/cluster.sh
#
# DATABASE_URL and NATS_URL are used when set; otherwise the project-local
# PostgreSQL (apps/api/scripts/dev-db.sh) and a local JetStream server
# (apps/api/scripts/dev-nats.sh) are started. The build is the test
# profile's (debug): the figures compare runs of this script, not the
# release figures of docs/PERFORMANCE.md.
set -euo pipefail

REPO_ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"

DATABASE_URL="$(apps/api/scripts/dev-db.sh url)"
NATS_URL="$(apps/api/scripts/dev-nats.sh url)"
export DATABASE_URL NATS_URL
export HUB_CLUSTER_EVENTS="${EVENTS:-5000}"
echo "cluster load: $HUB_CLUSTER_EVENTS events, NATS_URL=$NATS_URL" >&2

# The test prints one `cluster: …` line of figures (creations/s, time until
# every event was delivered, deliveries, duplicates, per-survivor counts).
filter=three_instances_deliver_every_event_once
if cargo nextest --version >/dev/null 2>&1; then
    exec cargo nextest run -p hub-chantier --test it --no-capture \
        -E "test(/$filter/)"
else
    exec cargo test -p hub-chantier --test it -- --nocapture "$filter"
fi
