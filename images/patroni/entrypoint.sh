#!/bin/sh
# Writes the configuration passed in $PATRONI_CONFIG_YAML (if any), then becomes Patroni. Run the
# container with an init (docker --init): Patroni is not one, and a zombie postgres child would
# leave a demoted primary hanging in "demote in progress".
set -eu
if [ -n "${PATRONI_CONFIG_YAML:-}" ]; then
    umask 077
    printf '%s\n' "$PATRONI_CONFIG_YAML" > /etc/patroni/patroni.yml
fi
cd /var/lib/postgresql
exec /opt/patroni/bin/patroni /etc/patroni/patroni.yml
