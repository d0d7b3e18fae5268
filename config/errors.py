"""Exception hierarchy shared by the web process, the workers and the commands."""

from __future__ import annotations


class SyncError(Exception):
    """Base class of every error the service raises on purpose."""


class SettingsError(SyncError):
    """The settings file is unreadable or invalid.

    ``messages`` contains one line per problem, each in the form
    ``FILE:LINE:COLUMN: KEY.PATH: what was expected``.
    """

    def __init__(self, messages: list[str]) -> None:
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))

    @property
    def first(self) -> str:
        return self.messages[0] if self.messages else "invalid settings"


class RetryableError(SyncError):
    """A transient failure (timeout, 429, 5xx, busy lock); the job is retried."""


class PermanentError(SyncError):
    """A failure that a retry cannot fix; kept for an operator to see and replay."""


class UpstreamError(SyncError):
    """An HTTP call to BigCommerce or the hub failed.

    ``status`` is the HTTP status (None for a connection error or timeout) and
    ``detail`` the remote's message, already free of credentials.
    """

    def __init__(self, message: str, *, status: int | None = None, detail: str = ""):
        super().__init__(message)
        self.status = status
        self.detail = detail


class RetryableUpstreamError(UpstreamError, RetryableError):
    """BigCommerce or the hub failed in a way that may pass: retried with backoff."""


class PermanentUpstreamError(UpstreamError, PermanentError):
    """BigCommerce or the hub rejected the request; a retry would fail the same way."""
