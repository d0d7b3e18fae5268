"""Common pieces of the HTTP clients: session, timeouts, error text."""

from __future__ import annotations

import requests

USER_AGENT = "bigcommerce-hub-sync/0.1 (+requests)"
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_ERROR_TEXT = 500


def new_session() -> requests.Session:
    """Return a session with the service's User-Agent and JSON Accept header."""
    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


def response_text(response: requests.Response) -> str:
    """Return the start of a response body for an error message."""
    text = response.text.strip()
    if len(text) > MAX_ERROR_TEXT:
        return text[:MAX_ERROR_TEXT] + "..."
    return text
