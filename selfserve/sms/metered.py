"""An SmsSender that counts, for /metrics, what happened to every text it was asked to send."""

from __future__ import annotations

from selfserve.errors import RecipientOptedOut, SmsError
from selfserve.ops.metrics import OUTBOUND_SMS
from selfserve.sms.senders import SentMessage, SmsSender, Template


class MeteredSender:
    """An SmsSender that counts what happened to every text it was asked to send."""

    def __init__(self, inner: SmsSender) -> None:
        self._inner = inner
        self.provider = inner.provider

    def send(
        self,
        to_e164: str,
        body: str,
        media_url: str | None = None,
        *,
        channel: str = "sms",
        template: Template | None = None,
    ) -> SentMessage:
        """Send through the wrapped sender, counting accepted, opted_out or failed."""
        try:
            sent = self._inner.send(to_e164, body, media_url, channel=channel, template=template)
        except RecipientOptedOut:
            OUTBOUND_SMS.labels("opted_out").inc()
            raise
        except SmsError:
            OUTBOUND_SMS.labels("failed").inc()
            raise
        OUTBOUND_SMS.labels("accepted").inc()
        return sent
