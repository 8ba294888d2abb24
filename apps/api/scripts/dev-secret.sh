#!/usr/bin/env bash
# Prints a local development secret, creating it on first use.
#
#   dev-secret.sh NAME BYTES
#
# The secret is BYTES random bytes, base64-encoded, kept in .data/secrets/NAME
# (git-ignored, mode 600) so that tokens and encrypted webhook secrets survive
# restarts of `make run`. Production deployments set the variables themselves.
set -euo pipefail

name="${1:?usage: dev-secret.sh NAME BYTES}"
bytes="${2:?usage: dev-secret.sh NAME BYTES}"
case "$name" in
    *[!a-z0-9_]*) echo "dev-secret: invalid name '$name'" >&2; exit 2 ;;
esac

repo_root="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
dir="$repo_root/.data/secrets"
file="$dir/$name"
if [ ! -s "$file" ]; then
    mkdir -p "$dir"
    chmod 700 "$dir"
    umask 077
    head -c "$bytes" /dev/urandom | base64 | tr -d '\n' > "$file.tmp"
    mv "$file.tmp" "$file"
    echo "dev-secret: generated $file" >&2
fi
cat "$file"
