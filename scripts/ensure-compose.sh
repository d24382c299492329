#!/usr/bin/env bash
# Make a compose binary available for `make test-stack` to validate docker/compose.yaml:
# `docker compose` or `docker-compose` if present, else Debian's docker-compose package
# (as root, from the package registry). Never fails: without one, the tests check the
# file's structure themselves and say so.
set -u
docker compose version >/dev/null 2>&1 && exit 0
command -v docker-compose >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-compose: installing Debian's docker-compose" >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -qq docker-compose || { apt-get update -qq \
        && apt-get install -y -qq docker-compose; }; } >/dev/null 2>&1 && exit 0
fi
echo "ensure-compose: no compose binary; docker/compose.yaml is checked structurally only" >&2
exit 0
