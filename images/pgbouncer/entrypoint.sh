#!/bin/sh
# Writes the configuration passed in $PGBOUNCER_CONFIG (if any) to
# /etc/pgbouncer/pgdrill/pgbouncer.ini, and the auth file PgBouncer checks clients against (and
# logs in to PostgreSQL with) from $PGBOUNCER_USER and $PGBOUNCER_PASSWORD, readable by PgBouncer's
# user only; then drops the password from the environment and becomes PgBouncer in the foreground.
set -eu
CONFIG=/etc/pgbouncer/pgdrill/pgbouncer.ini
USERLIST=/etc/pgbouncer/pgdrill/userlist.txt
umask 077
if [ -n "${PGBOUNCER_CONFIG:-}" ]; then
    printf '%s\n' "$PGBOUNCER_CONFIG" > "$CONFIG"
fi
if [ -n "${PGBOUNCER_PASSWORD:-}" ]; then
    # userlist.txt: "user" "password"; a double quote inside is written twice.
    user=$(printf '%s' "${PGBOUNCER_USER:-postgres}" | sed 's/"/""/g')
    password=$(printf '%s' "$PGBOUNCER_PASSWORD" | sed 's/"/""/g')
    printf '"%s" "%s"\n' "$user" "$password" > "$USERLIST"
fi
unset PGBOUNCER_PASSWORD
exec pgbouncer "$CONFIG" "$@"
