# syntax=docker/dockerfile:1
# Hub Chantier: the single `hub-chantier` binary in a small, non-root image.
#
#   docker build -t hub-chantier .
#   docker run --rm -p 8080:8080 -e DATABASE_URL=… -e JWT_SECRET=… \
#       -e WEBHOOK_SECRETS_KEY=… hub-chantier            # serve
#   docker run --rm -e DATABASE_URL=… hub-chantier migrate
#
# docs/DEPLOYMENT.md says how to run several instances of it.

# ---- build: the release binary, from the locked dependency tree ----------
# The tag matches rust-toolchain.toml, so rustup installs nothing more.
FROM rust:1.95.0-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and the target directory between builds
# (BuildKit); the binary is copied out of the cached target directory.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p hub-chantier \
    && cp target/release/hub-chantier /hub-chantier

# ---- runtime: the binary, CA certificates, an unprivileged user ----------
FROM debian:bookworm-slim
# CA roots: webhook receivers over HTTPS, and TLS to NATS or object stores.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 hub \
    && useradd --system --uid 10001 --gid hub --home-dir /var/lib/hub-chantier \
       --create-home --shell /usr/sbin/nologin hub
COPY --from=build /hub-chantier /usr/local/bin/hub-chantier
USER 10001:10001
WORKDIR /var/lib/hub-chantier
# Listen on every interface of the container (the defaults are loopback);
# documents go to a volume unless DOCUMENTS_STORE_URL names shared storage.
# A fixed mmap threshold: otherwise glibc raises it to the size of the
# largest block freed (a sign-in's 19 MiB Argon2 memory) and keeps every
# later buffer in its arenas (docs/DEPLOYMENT.md, "Container image").
ENV HTTP_ADDR=0.0.0.0:8080 \
    METRICS_ADDR=0.0.0.0:9464 \
    DOCUMENTS_STORAGE_DIR=/var/lib/hub-chantier/documents \
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072
VOLUME ["/var/lib/hub-chantier/documents"]
EXPOSE 8080 9464
# SIGTERM starts the graceful shutdown (SHUTDOWN_TIMEOUT, 30 s by default):
# give the container at least that long before it is killed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/hub-chantier"]
CMD ["serve"]
