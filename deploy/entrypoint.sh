#!/bin/sh
# The image's entrypoint: its first argument says what this container is.
#   web      gunicorn with gunicorn.conf.py on $PORT (default 8000)
#   worker   `flask --app app worker` (SIGTERM: the job in flight finishes, then it stops)
#   migrate  `flask --app app db upgrade`
#   flask …  any flask command, as is
#   sh, bash, python3: a shell or Python (debugging)
#   anything else: a `flask --app app` command, e.g. `users create you@example.com` (even where
#   a program of that name exists: /usr/bin/users is not what was meant)
# `exec` makes the server itself PID 1, so it receives `docker stop`'s SIGTERM directly.
set -eu
command="${1:-web}"
[ "$#" -gt 0 ] && shift
case "$command" in
  web) exec gunicorn -c gunicorn.conf.py "app:create_app()" "$@" ;;
  worker) exec flask --app app worker "$@" ;;
  migrate) exec flask --app app db upgrade "$@" ;;
  flask) exec flask "$@" ;;
  sh | bash | python3 | python) exec "$command" "$@" ;;
esac
exec flask --app app "$command" "$@"
