#!/bin/sh
# Writes $ALERTMANAGER_CONFIG to /etc/prometheus/alertmanager.yml, then becomes Alertmanager;
# further arguments are added to its command line. Clustering is off (a single instance): with
# it on, Alertmanager waits for gossip to settle before it sends anything.
set -eu
if [ -n "${ALERTMANAGER_CONFIG:-}" ]; then
    printf '%s\n' "$ALERTMANAGER_CONFIG" > /etc/prometheus/alertmanager.yml
fi
exec prometheus-alertmanager \
    --config.file=/etc/prometheus/alertmanager.yml \
    --storage.path=/var/lib/prometheus/alertmanager \
    --web.listen-address=0.0.0.0:9093 \
    --cluster.listen-address= \
    "$@"
