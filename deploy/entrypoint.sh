#!/bin/sh
# The image's entrypoint: its first argument says what this container is.
#   web      gunicorn with gunicorn.conf.py on $PORT (default 8000)
#   worker   `flask --app app worker` (SIGTERM: the job in flight finishes, then it stops)
#   migrate  `flask --app app db upgrade`
#   flask …  any flask command, as is
#   a program on PATH (sh, python3): run it
#   anything else: a `flask --app app` command, e.g. `users create you@example.com`
# `exec` makes the server itself PID 1, so it receives `docker stop`'s SIGTERM directly.
set -eu
command="${1:-web}"
[ "$#" -gt 0 ] && shift
case "$command" in
  web) exec gunicorn -c gunicorn.conf.py "app:create_app()" "$@" ;;
  worker) exec flask --app app worker "$@" ;;
  migrate) exec flask --app app db upgrade "$@" ;;
  flask) exec flask "$@" ;;
esac
if command -v "$command" >/dev/null 2>&1; then
  exec "$command" "$@"
fi
exec flask --app app "$command" "$@"
