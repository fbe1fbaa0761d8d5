#!/bin/sh
# Writes the custom queries passed as text in $PG_EXPORTER_EXTEND_QUERY (if any) to
# /etc/postgres-exporter/queries.yaml and points the exporter at it with
# PG_EXPORTER_EXTEND_QUERY_PATH, then becomes the exporter (listening on :9187); further
# arguments are added to its command line. The exporter reads DATA_SOURCE_NAME itself.
set -eu
if [ -n "${PG_EXPORTER_EXTEND_QUERY:-}" ]; then
    printf '%s\n' "$PG_EXPORTER_EXTEND_QUERY" > /etc/postgres-exporter/queries.yaml
    export PG_EXPORTER_EXTEND_QUERY_PATH=/etc/postgres-exporter/queries.yaml
fi
exec prometheus-postgres-exporter --web.listen-address=0.0.0.0:9187 "$@"
