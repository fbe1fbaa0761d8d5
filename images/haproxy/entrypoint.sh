#!/bin/sh
# Writes the configuration passed in $HAPROXY_CONFIG (if any), then becomes HAProxy in the
# foreground (-db) with the master-worker model (-W) so SIGUSR2 reloads work.
set -eu
if [ -n "${HAPROXY_CONFIG:-}" ]; then
    printf '%s\n' "$HAPROXY_CONFIG" > /etc/haproxy/haproxy.cfg
fi
exec haproxy -W -db -f /etc/haproxy/haproxy.cfg "$@"
