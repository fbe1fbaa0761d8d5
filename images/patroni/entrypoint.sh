#!/bin/sh
# Writes the configuration passed in $PATRONI_CONFIG_YAML (if any), then supervises Patroni the
# way systemd or a Kubernetes container restart would: if Patroni dies it is started again, so
# PostgreSQL (its child, reparented to the init) keeps running meanwhile. pgdrill's kill_patroni
# fault creates the hold file first, which keeps Patroni down until the fault is healed.
# Run the container with an init (docker --init): a zombie postgres child would otherwise leave a
# demoted primary hanging in "demote in progress".
set -eu
if [ -n "${PATRONI_CONFIG_YAML:-}" ]; then
    umask 077
    printf '%s\n' "$PATRONI_CONFIG_YAML" > /etc/patroni/patroni.yml
fi
cd /var/lib/postgresql
HOLD=/tmp/pgdrill-hold-patroni
stopping=0
pid=
# docker stop: pass SIGTERM on to Patroni (it stops PostgreSQL cleanly), then leave.
trap 'stopping=1; [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null' TERM INT
while [ "$stopping" = 0 ]; do
    /opt/patroni/bin/patroni /etc/patroni/patroni.yml &
    pid=$!
    # `wait` returns early when a trap runs; wait again until Patroni has really exited.
    while kill -0 "$pid" 2>/dev/null; do wait "$pid" || true; done
    pid=
    [ "$stopping" = 1 ] && break
    while [ -f "$HOLD" ] && [ "$stopping" = 0 ]; do sleep 0.2; done
    [ "$stopping" = 0 ] && sleep 1
done
