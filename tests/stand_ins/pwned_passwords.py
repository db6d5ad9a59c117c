"""A stand-in for Have I Been Pwned's Pwned Passwords range API.

As documented at https://haveibeenpwned.com/API/v3#SearchingPwnedPasswordsByRange:
`GET /range/{first 5 hex characters of the SHA-1}` answers `text/plain`, one
`SUFFIX:COUNT` line per known hash with that prefix (the 35 remaining hex characters, upper
case); with the `Add-Padding: true` header, extra lines with a count of 0 hide the real
number of answers. A prefix that is not 5 hex characters is a 400.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from werkzeug.wrappers import Request, Response

_PREFIX = re.compile(r"^/range/([0-9A-Fa-f]{5})$")


class PwnedPasswordsStandIn:
    """Knows the passwords given to `breach`; records every path asked for."""

    def __init__(self) -> None:
        self.url = ""
        self.paths: list[str] = []
        self.down = False
        self._counts: dict[str, int] = {}

    def breach(self, password: str, count: int = 42) -> None:
        """Make `password` known from breaches."""
        digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest()
        self._counts[digest.upper()] = count

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.paths.append(request.full_path)
        found = _PREFIX.match(request.path)
        if self.down:
            response = Response("Service Unavailable", status=503)
        elif request.method != "GET" or found is None:
            response = Response("The hash prefix was not in a valid format", status=400)
        else:
            response = Response(self._range(found.group(1).upper(), request), mimetype="text/plain")
        return response(environ, start_response)

    def _range(self, prefix: str, request: Request) -> str:
        lines = [
            f"{digest[5:]}:{count}"
            for digest, count in self._counts.items()
            if digest.startswith(prefix)
        ]
        if request.headers.get("Add-Padding") == "true":
            lines += [f"{index:035X}:0" for index in range(3)]
        return "\r\n".join(lines)
