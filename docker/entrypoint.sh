#!/bin/sh
# Rollcall's container entrypoint.
#   no arguments: apply the database migrations, then serve on $ROLLCALL_HOST:$ROLLCALL_PORT
#   arguments:    run them instead (e.g. `rollcall embed photo.jpg`, `rollcall db upgrade`)
# Settings come from ROLLCALL_* variables (ROLLCALL_DATABASE_URL, ROLLCALL_ADMIN_KEY, ...).
set -eu

if [ "$#" -gt 0 ]; then
    exec "$@"
fi

rollcall db upgrade
# exec: the server replaces this shell (PID 1 in a container) and gets SIGTERM itself.
exec rollcall serve --host "${ROLLCALL_HOST:-0.0.0.0}" --port "${ROLLCALL_PORT:-8000}"
