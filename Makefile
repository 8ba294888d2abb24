# Hub Chantier — developer entry points. `make` (or `make help`) lists them.
#
# Database: every target that needs PostgreSQL takes DATABASE_URL from the
# environment when it is set; otherwise apps/api/scripts/dev-db.sh provisions and
# starts a project-local cluster under .data/ (127.0.0.1:${HUB_PG_PORT:-54329})
# and prints its URL, which is exported to the cargo processes.

SHELL := bash
# Every recipe line fails on the first failing command, unset variable or pipe stage.
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

CARGO ?= cargo
DEV_DB := apps/api/scripts/dev-db.sh

# `make run` builds in release mode: it is the build that load tests and the
# performance figures in docs/ refer to. Release is optimised as one unit (fat
# LTO): a clean build takes ~15 min on 2 cores and every rebuild relinks the
# whole program (~6 min). While changing code, or for a faster first start after
# `make test` (whose debug artifacts it reuses), use `make run RUN_PROFILE=dev`.
RUN_PROFILE ?= release

# cargo-deny: workspace-path wrappers listed ahead of the crates that will use
# them are not errors, only noise ("unused-wrapper"), so that lint is silenced.
DENY_LINTS := -A unused-wrapper
# A workspace that breaks a ban on purpose: cargo-deny MUST reject it.
DENY_FIXTURE := tests/architecture/fixtures/deny-violation/Cargo.toml
DENY_CONFIG ?= $(CURDIR)/deny.toml

# Exports DATABASE_URL (given, or the local cluster's) into a recipe's shell.
# An assignment from a failing command substitution fails the recipe (set -e).
# (The URL is echoed with any password masked.)
with_database = DATABASE_URL="$$($(DEV_DB) url)"; export DATABASE_URL; \
	echo "DATABASE_URL=$$(sed -E 's|(://[^/@:]*):[^/@]*@|\1:***@|' <<<"$$DATABASE_URL")" >&2;

# Exports NATS_URL (given, or a local JetStream server's: the machine's when
# one answers on 127.0.0.1:${HUB_NATS_PORT:-4222}, else one started under
# .data/nats/) for the tests of the NATS event bus and the cluster test.
DEV_NATS := apps/api/scripts/dev-nats.sh
with_nats = NATS_URL="$$($(DEV_NATS) url)"; export NATS_URL; echo "NATS_URL=$$NATS_URL" >&2;

# Secrets `make run` needs: the environment's when set, otherwise local ones
# generated once under .data/secrets/ (never for production).
DEV_SECRET := apps/api/scripts/dev-secret.sh
with_local_secrets = JWT_SECRET="$${JWT_SECRET:-$$($(DEV_SECRET) jwt_secret 48)}"; export JWT_SECRET; \
	WEBHOOK_SECRETS_KEY="$${WEBHOOK_SECRETS_KEY:-$$($(DEV_SECRET) webhook_secrets_key 32)}"; export WEBHOOK_SECRETS_KEY;

# `make run`'s development settings (never the binary's defaults, which
# refuse them): webhooks may be delivered over plain http:// to receivers on
# loopback, where `make listen` (hub-chantier listen) runs. The environment
# wins when it sets them; the server logs that they are on.
DEV_WEBHOOK_CIDRS := 127.0.0.0/8,::1/128
with_dev_webhooks = WEBHOOKS_ALLOW_HTTP="$${WEBHOOKS_ALLOW_HTTP:-true}"; export WEBHOOKS_ALLOW_HTTP; \
	WEBHOOKS_ALLOWED_CIDRS="$${WEBHOOKS_ALLOWED_CIDRS-$(DEV_WEBHOOK_CIDRS)}"; export WEBHOOKS_ALLOWED_CIDRS; \
	echo "make run: development only: webhooks may go to http:// receivers on loopback (WEBHOOKS_ALLOW_HTTP=$$WEBHOOKS_ALLOW_HTTP, WEBHOOKS_ALLOWED_CIDRS=$$WEBHOOKS_ALLOWED_CIDRS)" >&2;

# `make listen`: port of the local webhook receiver.
LISTEN_PORT ?= 9000

.PHONY: help run admin listen walkthrough test lint fuzz deny db-start db-stop db-status nats-start nats-stop migrate bench openapi events-doc cluster-load console-screenshots browser-deps

help: ## Show this help
	@echo "Hub Chantier — make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'
	@echo "Without DATABASE_URL, a local PostgreSQL is provisioned under .data/ (make db-stop stops it)."

run: ## Start the server on http://127.0.0.1:8080 (migrations run at start-up)
	$(with_database) \
	$(with_local_secrets) \
	$(with_dev_webhooks) \
	$(CARGO) run --profile $(RUN_PROFILE) -p hub-chantier -- serve

# EMAIL comes from make's command line, which make exports to the recipe's
# environment: the shell quotes it, whatever it contains.
admin: ## Create the first administrator on make run's database: make admin EMAIL=you@example.com (password asked, not echoed)
	@if [ -z "$${EMAIL:-}" ]; then echo "usage: make admin EMAIL=you@example.com" >&2; exit 2; fi
	@$(with_database) \
	$(CARGO) run -q --profile $(RUN_PROFILE) -p hub-chantier -- create-admin --email "$$EMAIL"

# SECRET, like EMAIL, reaches the binary through the environment
# (HUB_LISTEN_SECRET), not its command line: `ps` does not show it.
listen: ## Local webhook receiver on http://127.0.0.1:9000 (LISTEN_PORT); SECRET=whsec_… verifies signatures; ARGS="--status 500"
	@HUB_LISTEN_SECRET="$${SECRET:-}"; export HUB_LISTEN_SECRET; [ -n "$$HUB_LISTEN_SECRET" ] || unset HUB_LISTEN_SECRET; \
	$(CARGO) run -q --profile $(RUN_PROFILE) -p hub-chantier -- listen --port $(LISTEN_PORT) $(ARGS)

walkthrough: ## Run README's "First five minutes" commands, as written, on a fresh database
	apps/api/scripts/walkthrough.sh

test: browser-deps ## Run the whole test suite (nextest when available, then doc tests)
	$(with_database) \
	$(with_nats) \
	status=0; \
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast || status=$$?; \
	else \
		echo "cargo-nextest not found: running cargo test (cargo install cargo-nextest --locked for faster runs)" >&2; \
		$(CARGO) test --workspace --no-fail-fast --lib --bins --tests || status=$$?; \
	fi; \
	echo "doc tests (nextest does not run them):" >&2; \
	$(CARGO) test --workspace --doc --no-fail-fast || status=$$?; \
	echo "README walkthrough (make walkthrough):" >&2; \
	RUN_PROFILE=dev apps/api/scripts/walkthrough.sh || status=$$?; \
	exit $$status

# The console's browser test needs Chromium and chromedriver: installed when
# root, otherwise the exact command to run is printed and make stops.
browser-deps: ## Check (as root: install) Chromium and chromedriver for the console's browser test
	apps/api/scripts/browser-deps.sh

console-screenshots: browser-deps ## Refresh docs/console/*.png: the console's browser test, saving its screenshots
	$(with_database) \
	HUB_CONSOLE_SCREENSHOTS="$(CURDIR)/docs/console" \
	$(CARGO) test -p hub-chantier --test it console:: -- --nocapture

lint: ## rustfmt check, clippy with warnings as errors, then cargo-deny
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@$(MAKE) --no-print-directory deny

fuzz: ## Fuzz every operation against docs/openapi.json (schemathesis, a few minutes)
	apps/api/scripts/fuzz.sh

deny: ## cargo-deny (bans = architecture rules, licenses, sources) + proof that a ban bites
	@$(CARGO) deny --version >/dev/null 2>&1 || { \
		echo "cargo-deny is not installed: cargo install cargo-deny --locked" >&2; exit 1; }
	@# The RustSec advisory database cannot be fetched here: advisories are not checked.
	$(CARGO) deny --config $(DENY_CONFIG) check $(DENY_LINTS) bans licenses sources
	@echo "deny: $(DENY_FIXTURE) (a domain crate using diesel) must be rejected…" >&2
	@out="$$($(CARGO) deny --color never --manifest-path $(DENY_FIXTURE) --config $(DENY_CONFIG) \
		check $(DENY_LINTS) bans 2>&1)" && rc=0 || rc=$$?; \
	if [ "$$rc" -eq 0 ]; then \
		printf '%s\n' "$$out" >&2; \
		echo "deny: FAILED — cargo-deny accepted a domain crate depending on diesel; the bans in deny.toml no longer bite" >&2; \
		exit 1; \
	fi; \
	if ! grep -qF "error[banned]: crate 'diesel = " <<<"$$out"; then \
		printf '%s\n' "$$out" >&2; \
		echo "deny: FAILED — cargo-deny failed on the fixture (exit $$rc), but not with a ban on diesel" >&2; \
		exit 1; \
	fi; \
	echo "deny: ok — the violation is rejected (error[banned]: diesel)" >&2

db-start: ## Start the project-local PostgreSQL (.data/)
	$(DEV_DB) start

db-stop: ## Stop the project-local PostgreSQL
	$(DEV_DB) stop

db-status: ## Show whether the project-local PostgreSQL runs
	$(DEV_DB) status || [ $$? -eq 3 ]

nats-start: ## Start a local NATS server with JetStream (unless one answers on 127.0.0.1:4222)
	$(DEV_NATS) start

nats-stop: ## Stop the NATS server nats-start started
	$(DEV_NATS) stop

migrate: ## Apply the database migrations (hub-chantier migrate)
	$(with_database) \
	$(CARGO) run -p hub-chantier -- migrate

bench: ## Run the benchmarks (criterion) against the same database set-up
	$(with_database) \
	$(CARGO) bench --workspace

cluster-load: ## Three instances under load, one killed midway (EVENTS=5000): tests/load/cluster.sh
	tests/load/cluster.sh

openapi: ## Regenerate docs/openapi.json (a test fails when it is stale)
	$(CARGO) run -q -p hub-chantier -- openapi > docs/openapi.json.tmp
	mv docs/openapi.json.tmp docs/openapi.json

events-doc: ## Regenerate docs/EVENTS.md, the event catalog (a test fails when it is stale)
	$(CARGO) run -q -p hub-chantier -- events-doc > docs/EVENTS.md.tmp
	mv docs/EVENTS.md.tmp docs/EVENTS.md
