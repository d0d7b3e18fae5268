"""Admin page: per connection the queues, failed jobs with a replay button, the
background checks and the decision log, searchable by order id.

Every URL under ``/admin`` needs HTTP Basic with the user name ``admin`` and the
password in the environment variable ``ADMIN_PASSWORD``. While that variable is
unset or empty, every such URL returns 503 with a message on how to enable the page.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError

from config.errors import SettingsError
from config.model import Settings
from webhook.routes import service
from workers import admin_data
from workers.recovery import replay_failed_job
from workers.state import DECISION_LOG_LENGTH

logger = logging.getLogger(__name__)

PASSWORD_ENV = "ADMIN_PASSWORD"
ADMIN_USER = "admin"
REALM = "admin"
CSRF_FIELD = "csrf_token"
# Fixed message of the form token's HMAC. The key is the admin password, so the
# token changes with the password and cannot be computed without it.
_CSRF_MESSAGE = b"bigcommerce-hub-sync admin form"
_HSTS = "max-age=31536000"
_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
DISABLED_MESSAGE = (
    f"The admin page is disabled because the environment variable {PASSWORD_ENV} "
    "is not set.\n"
    f"To enable it, set {PASSWORD_ENV} to a long random password and restart the "
    "web process, for example on Heroku:\n"
    f"  heroku config:set {PASSWORD_ENV}=...\n"
    f"Then sign in with the user name '{ADMIN_USER}' and that password.\n"
)
SIGN_IN_MESSAGE = (
    f"Sign-in required: use the user name '{ADMIN_USER}' and the password set in "
    f"{PASSWORD_ENV}.\n"
)
CROSS_SITE_MESSAGE = (
    "Rejected: this form was not sent from the admin page of this host. Reload the "
    "admin page and press the button again.\n"
)

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
)


class _SignInFailures:
    """Counter of failed sign-ins that logs them at most once a minute, with the
    count."""

    interval_seconds = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._logged_at = -self.interval_seconds

    def add(self, remote_addr: str | None) -> None:
        """Count one failure; log the count when the last log is a minute old."""
        with self._lock:
            self._count += 1
            now = time.monotonic()
            if now - self._logged_at < self.interval_seconds:
                return
            count, self._count, self._logged_at = self._count, 0, now
        logger.warning(
            "admin page: %d failed sign-in(s) since the last report, latest from %s",
            count,
            remote_addr,
        )


_sign_in_failures = _SignInFailures()


def admin_password() -> str:
    """Return ``ADMIN_PASSWORD``, or an empty string when it is unset or blank."""
    password = os.environ.get(PASSWORD_ENV, "")
    return password if password.strip() else ""


def csrf_token(password: str) -> str:
    """Return the hidden form token: an HMAC-SHA256 keyed with the admin password."""
    return hmac.new(password.encode(), _CSRF_MESSAGE, hashlib.sha256).hexdigest()


def _plain(message: str, status: int) -> Response:
    return Response(message, status=status, mimetype="text/plain")


@bp.before_request
def guard() -> ResponseReturnValue | None:
    """Send plain HTTP to HTTPS, then check that the page is enabled, the sign-in,
    and for a POST that it came from this page."""
    if request.headers.get("X-Forwarded-Proto", "").strip().lower() == "http":
        # Heroku's router sets X-Forwarded-Proto and also serves plain HTTP. The
        # redirect comes before the 401 challenge, so the browser is never asked for
        # the password over plain HTTP.
        parts = urlsplit(request.url)
        return redirect(urlunsplit(("https", *parts[1:])), 308)
    password = admin_password()
    if not password:
        return _plain(DISABLED_MESSAGE, 503)
    if not _signed_in(password):
        _sign_in_failures.add(request.remote_addr)
        response = _plain(SIGN_IN_MESSAGE, 401)
        response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
        return response
    if request.method == "POST" and not _same_site_form(password):
        logger.warning(
            "admin page: cross-site or tokenless POST to %s rejected (origin=%r)",
            request.path,
            request.headers.get("Origin"),
        )
        return _plain(CROSS_SITE_MESSAGE, 403)
    return None


def _signed_in(password: str) -> bool:
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return False
    # Both comparisons always run, so the time taken does not tell which failed.
    user_ok = _same_text(auth.username or "", ADMIN_USER)
    password_ok = _same_text(auth.password or "", password)
    return user_ok and password_ok


def _same_text(received: str, expected: str) -> bool:
    """Compare in constant time; hashing first hides the expected length too."""
    received_digest = hashlib.sha256(received.encode()).digest()
    expected_digest = hashlib.sha256(expected.encode()).digest()
    return hmac.compare_digest(received_digest, expected_digest)


def _same_site_form(password: str) -> bool:
    """Check the form token, and the Origin or Referer host when the browser sent
    one."""
    if not _same_text(request.form.get(CSRF_FIELD, ""), csrf_token(password)):
        return False
    origin = request.headers.get("Origin")
    if origin is not None:
        return urlsplit(origin).netloc == request.host
    referer = request.headers.get("Referer")
    if referer is not None:
        return urlsplit(referer).netloc == request.host
    return True


@bp.after_request
def add_security_headers(response: Response) -> Response:
    """Forbid framing, caching and outside resources on every admin response."""
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    if request.headers.get("X-Forwarded-Proto", "").strip().lower() == "https":
        response.headers["Strict-Transport-Security"] = _HSTS
    return response


@bp.errorhandler(RedisError)
def redis_unavailable(exc: RedisError) -> ResponseReturnValue:
    """Render a 503 page: the page shows nothing without Redis."""
    logger.error("admin page: Redis unreachable: %s", exc)
    page = render_template(
        "admin/message.html",
        title="Redis is unreachable",
        message="The admin page cannot read the queues and the decision log "
        "because Redis does not answer. Check REDIS_URL and the Redis add-on, then "
        "reload this page.",
    )
    return page, 503


@bp.errorhandler(SettingsError)
def settings_unavailable(exc: SettingsError) -> ResponseReturnValue:
    """Render a 503 page while no valid settings file was loaded."""
    logger.error("admin page: no valid settings loaded: %s", exc.first)
    page = render_template(
        "admin/message.html",
        title="No valid settings",
        message="No valid settings file has been loaded since the web process "
        "started. Run 'flask --app webhook check-config' to see the errors.",
    )
    return page, 503


def secret_values(settings: Settings) -> set[str]:
    """Collect every secret of the settings and the admin password."""
    secrets = {settings.hub.token, settings.hub.inbound_token, admin_password()}
    for connection in settings.connections:
        secrets.add(connection.credentials.access_token)
        secrets.add(connection.webhooks.token)
        secrets.add(connection.webhooks.signing_secret)
    return {secret for secret in secrets if secret}


@bp.get("/", strict_slashes=False)
def overview() -> ResponseReturnValue:
    """Show each connection's queues, failed jobs, background checks and counts."""
    context = service()
    settings = context.settings
    names = [connection.name for connection in settings.connections]
    statuses = admin_data.connection_statuses(
        context.redis, names, secret_values(settings)
    )
    return render_template(
        "admin/overview.html",
        statuses=statuses,
        names=names,
        hooks_checked=bool(settings.public_url),
        notice=_replay_notice(),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(admin_password()),
    )


def _replay_notice() -> dict[str, str] | None:
    """Return the confirmation of the replay that redirected here, if any."""
    replayed = request.args.get("replayed")
    if replayed:
        queue = request.args.get("queue", "")
        return {
            "kind": "ok",
            "text": f"Job {replayed} is back in the {queue} queue with a fresh "
            "retry budget.",
        }
    missed = request.args.get("not_replayed")
    if missed:
        return {
            "kind": "error",
            "text": f"Job {missed} was not replayed: it is no longer in the failed "
            "list. It was replayed already, it expired, or it is not a job of this "
            "connection.",
        }
    return None


@bp.get("/decisions")
def decisions() -> ResponseReturnValue:
    """Search the decision log by order id, or show the latest decisions."""
    context = service()
    settings = context.settings
    names = [connection.name for connection in settings.connections]
    secrets = secret_values(settings)
    order_text = request.args.get("order_id", "").strip()
    selected = request.args.get("connection", "").strip()
    page: dict[str, Any] = {
        "names": names,
        "order_text": order_text,
        "selected": selected,
        "error": None,
        "histories": [],
        "recent": [],
        "log_length": DECISION_LOG_LENGTH,
    }

    if selected and selected not in names:
        page["error"] = (
            f"unknown connection {selected!r}; choose one of: {', '.join(names)}"
        )
        return render_template("admin/decisions.html", **page), 400
    searched = [selected] if selected else names

    if not order_text:
        page["recent"] = [
            (name, admin_data.recent_decisions(context.redis, name, secrets))
            for name in searched
        ]
        return render_template("admin/decisions.html", **page)

    try:
        order_id = admin_data.parse_order_id(order_text)
    except admin_data.InvalidOrderId as exc:
        page["error"] = str(exc)
        return render_template("admin/decisions.html", **page), 400
    page["histories"] = [
        admin_data.order_history(context.redis, name, order_id, secrets)
        for name in searched
    ]
    return render_template("admin/decisions.html", **page)


@bp.post("/connections/<connection>/jobs/<job_id>/replay")
def replay(connection: str, job_id: str) -> ResponseReturnValue:
    """Put one failed job of a connection back in its queue, then redirect (303)
    to the overview with a confirmation."""
    queue = replay_failed_job(service().redis, job_id, connection=connection)
    anchor = f"connection-{connection}"
    if queue is None:
        logger.warning(
            "admin page: job %s of %s not replayed: not in a failed job registry",
            job_id,
            connection,
        )
        target = url_for("admin.overview", not_replayed=job_id, _anchor=anchor)
    else:
        target = url_for("admin.overview", replayed=job_id, queue=queue, _anchor=anchor)
    return redirect(target, 303)


@bp.route("/<path:unknown>", methods=["GET", "POST"])
def not_found(unknown: str) -> ResponseReturnValue:
    """Return 404 for an unknown admin URL, after the same checks as every page."""
    page = render_template(
        "admin/message.html",
        title="Not found",
        message=f"There is no admin page at /admin/{unknown}.",
    )
    return page, 404
