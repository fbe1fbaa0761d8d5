#!/bin/sh
# Writes $PROMETHEUS_CONFIG to /etc/prometheus/prometheus.yml and every rule file passed as
# $PROMETHEUS_RULES_<i> (i = 1, 2, ... until the first unset one; its file name, optional, in
# $PROMETHEUS_RULES_<i>_NAME) to /etc/prometheus/rules/<ii>-<name>. Then either
#   check-rules   runs `promtool check rules` on those files and exits with its status, or
#   (otherwise)   becomes Prometheus; further arguments are added to its command line.
# Without --web.enable-lifecycle: nothing needs /-/reload or /-/quit (the configuration is fixed
# for a run), and anyone who reaches the port could otherwise stop Prometheus.
set -eu
rules_dir=/etc/prometheus/rules
if [ -n "${PROMETHEUS_CONFIG:-}" ]; then
    printf '%s\n' "$PROMETHEUS_CONFIG" > /etc/prometheus/prometheus.yml
fi
files=""
i=1
while :; do
    eval "content=\${PROMETHEUS_RULES_$i:-}"
    [ -n "$content" ] || break
    eval "name=\${PROMETHEUS_RULES_${i}_NAME:-rules.yml}"
    # A name is a file name, never a path.
    name=$(basename "$name")
    file="$rules_dir/$(printf '%02d' "$i")-$name"
    printf '%s\n' "$content" > "$file"
    files="$files $file"
    i=$((i + 1))
done
if [ "${1:-}" = "check-rules" ]; then
    shift
    if [ -z "$files" ]; then
        echo "check-rules: no rule files given (set PROMETHEUS_RULES_1, ...)" >&2
        exit 2
    fi
    # shellcheck disable=SC2086 # $files is a list of paths without spaces
    exec promtool check rules "$@" $files
fi
exec prometheus \
    --config.file=/etc/prometheus/prometheus.yml \
    --storage.tsdb.path=/var/lib/prometheus/data \
    --storage.tsdb.retention.time=1d \
    --web.listen-address=0.0.0.0:9090 \
    "$@"
