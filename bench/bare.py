"""The baseline: a bare Flask app that reads Twilio's form and answers fixed TwiML.

bench/run.py serves it with the project's own gunicorn.conf.py, exactly like the real app,
so the ratio between the two measures selfserve's own cost per text and nothing else.
"""

from __future__ import annotations

from flask import Flask, Response, request

FIXED_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
    "Your Spring code: T1-0000 (valid until 31 Dec)</Message></Response>"
)


def create_app() -> Flask:
    """A Flask app with the webhook's route, doing only what any webhook must do."""
    app = Flask(__name__)

    @app.post("/webhooks/twilio/sms")
    def inbound_text() -> Response:
        form = request.form
        if not (form.get("MessageSid") and form.get("From")):
            return Response("missing field", status=400)
        form.get("Body", "")
        return Response(FIXED_TWIML, status=200, mimetype="text/xml")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response('{"status": "ok"}', mimetype="application/json")

    return app
