"""Common pieces of the HTTP clients: session, timeouts, error text."""

from __future__ import annotations

from collections.abc import Iterable

import requests

USER_AGENT = "bigcommerce-hub-sync/0.1 (+requests)"
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_ERROR_TEXT = 500


def new_session() -> requests.Session:
    """Return a session with the service's User-Agent and JSON Accept header."""
    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


def response_text(response: requests.Response, secrets: Iterable[str] = ()) -> str:
    """Return the start of a response body for an error message.

    A remote may echo the request's credentials in its error body, so every value of
    ``secrets`` is replaced by ``***`` before the text goes into a log or a record.
    """
    text = response.text.strip()
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    if len(text) > MAX_ERROR_TEXT:
        return text[:MAX_ERROR_TEXT] + "..."
    return text
