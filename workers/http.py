"""Common pieces of the HTTP clients: session, timeouts, error text."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from http.cookiejar import DefaultCookiePolicy

import requests

USER_AGENT = "bigcommerce-hub-sync/0.1 (+requests)"
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_ERROR_TEXT = 500


def new_session() -> requests.Session:
    """Return a session with the service's User-Agent and JSON Accept header.

    The session keeps no cookies, so one session can serve every store and the hub.
    """
    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


_shared: requests.Session | None = None
_shared_lock = threading.Lock()


def shared_session() -> requests.Session:
    """Return this process's session, created on first use.

    A worker runs its jobs one after another in one process, so its clients reuse
    open connections, and TLS handshakes, from job to job.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = new_session()
        return _shared


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
