"""Authentication of BigCommerce webhook deliveries.

Every method configured for the connection must pass: the shared token in the
configured header, and the Standard Webhooks signature when a signing secret is set.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from config.model import WebhookSettings

if TYPE_CHECKING:
    from werkzeug.datastructures import Headers


def is_authentic(settings: WebhookSettings, headers: Headers, body: bytes) -> bool:
    """Return True when every configured method accepts the delivery."""
    if settings.token and not _token_matches(settings, headers):
        return False
    if settings.signing_secret and not _signature_matches(settings, headers, body):
        return False
    return bool(settings.token or settings.signing_secret)


def _token_matches(settings: WebhookSettings, headers: Headers) -> bool:
    received = headers.get(settings.header)
    if received is None:
        return False
    return hmac.compare_digest(received.encode(), settings.token.encode())


def _signature_matches(
    settings: WebhookSettings, headers: Headers, body: bytes
) -> bool:
    """Verify the Standard Webhooks signature with a five-minute tolerance.

    The HMAC key is the client secret's bytes as written in the settings; passing
    bytes to ``Webhook`` is the same as passing their base64 encoding.
    """
    wanted = ("webhook-id", "webhook-timestamp", "webhook-signature")
    signed_headers = {name: headers.get(name) or "" for name in wanted}
    try:
        Webhook(settings.signing_secret.encode()).verify(
            body, signed_headers, json_parse=False
        )
    except WebhookVerificationError:
        return False
    return True


def bearer_token_matches(authorization: str | None, expected: str) -> bool:
    """Return whether an Authorization header is ``Bearer <expected>``.

    The scheme is matched without regard to case, and the tokens are compared in
    constant time.
    """
    scheme, _, received = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(received.strip().encode(), expected.encode())
