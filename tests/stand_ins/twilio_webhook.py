"""Twilio's side of the inbound-message webhook: the whole form it posts for one SMS.

Shared by the tests (tests/conftest.py) and the benchmarks (bench/run.py), so both send
exactly what Twilio sends, including the fields the app ignores.
"""

from __future__ import annotations


def inbound_sms_form(
    body: str, sender: str, message_sid: str, to: str, account_sid: str, **extra: str
) -> dict[str, str]:
    """The form Twilio posts for one inbound SMS from `sender` to our number `to`."""
    return {
        "ToCountry": "AU",
        "ToState": "",
        "SmsMessageSid": message_sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": message_sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "AU",
        "To": to,
        "MessagingServiceSid": "",
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": message_sid,
        "AccountSid": account_sid,
        "From": sender,
        "ApiVersion": "2010-04-01",
        **extra,
    }
