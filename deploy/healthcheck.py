"""The image's HEALTHCHECK (no curl in the image): a web container answers GET /healthz on
$PORT; any other container (worker, a one-off command) is healthy while it runs."""

import os
import sys
import urllib.request
from pathlib import Path


def main() -> int:
    """0 when healthy, 1 when not."""
    command = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    if not any(b"gunicorn" in part for part in command):
        return 0
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as answer:  # noqa: S310 - our own http URL
            return 0 if answer.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
