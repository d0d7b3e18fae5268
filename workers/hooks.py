"""BigCommerce webhook subscriptions ("hooks") of each connection.

The service needs one active hook per order scope that points at
``{public_url}/webhooks/bigcommerce`` and carries the connection's webhook token.
BigCommerce deactivates a hook (``is_active: false``) after 48 hours of failed
deliveries, so ``check_hooks_job`` re-enables such hooks and queues a catch-up poll
for the orders whose webhooks were lost.

The access token and the webhook token never appear in a log line, an error or a
``repr``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from redis import Redis
from rq import Queue

from config.errors import (
    PermanentUpstreamError,
    RetryableUpstreamError,
    SettingsError,
)
from config.model import Connection
from workers.bigcommerce import BigCommerceClient, total_pages
from workers.http import response_text
from workers.jobs import worker_context
from workers.queueing import ORDER_QUEUE
from workers.scopes import (
    ORDER_ARCHIVED,
    ORDER_CREATED,
    ORDER_STATUS_UPDATED,
    ORDER_UPDATED,
)

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/bigcommerce"
# The order of the scopes in reports and command output.
HOOK_SCOPES = (ORDER_CREATED, ORDER_UPDATED, ORDER_STATUS_UPDATED, ORDER_ARCHIVED)
PAGE_LIMIT = 250
MAX_PAGES = 100
RECONCILE_JOB = "workers.reconcile.reconcile_connection"
CATCH_UP_MARGIN = dt.timedelta(minutes=5)
# BigCommerce deactivates a hook after 48 hours of failed deliveries, so a catch-up
# without a known last good check covers that long.
CATCH_UP_DEFAULT = dt.timedelta(hours=48)

ActionKind = Literal["create", "update"]


class PublicUrlNotSet(SettingsError):
    """The settings have no ``public_url``, so no hook destination can be built."""

    def __init__(self) -> None:
        super().__init__(
            [
                "public_url is not set; set public_url in the settings file to the "
                "https:// address where BigCommerce reaches this service, for "
                "example https://sync.example.com"
            ]
        )


class HookNotFound(PermanentUpstreamError):
    """BigCommerce has no hook with that id in this store."""


@dataclass(frozen=True)
class Hook:
    """A hook as BigCommerce returned it; ``headers`` is empty for null."""

    id: int
    scope: str
    destination: str
    is_active: bool
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, item: Any) -> Hook:
        """Build a Hook from one ``data`` item; raises RetryableUpstreamError."""
        if not isinstance(item, dict):
            raise RetryableUpstreamError(
                f"BigCommerce returned a webhook of type {type(item).__name__}, "
                "expected an object"
            )
        hook_id = item.get("id")
        headers = item.get("headers") or {}
        valid = (
            isinstance(item.get("scope"), str)
            and isinstance(item.get("destination"), str)
            and isinstance(item.get("is_active"), bool)
            and isinstance(headers, dict)
        )
        if not valid or not isinstance(hook_id, int):
            raise RetryableUpstreamError(
                f"BigCommerce returned webhook {hook_id!r} without a valid id, "
                "scope, destination, is_active or headers"
            )
        return cls(
            id=hook_id,
            scope=item["scope"],
            destination=item["destination"],
            is_active=item["is_active"],
            headers={str(name): str(value) for name, value in headers.items()},
        )


@dataclass(frozen=True)
class DesiredHook:
    """A hook the service needs: scope, destination and the headers it must carry."""

    scope: str
    destination: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    def create_body(self) -> dict[str, Any]:
        """Return the body of ``POST /v3/hooks`` for this hook."""
        body: dict[str, Any] = {
            "scope": self.scope,
            "destination": self.destination,
            "is_active": True,
        }
        if self.headers:
            body["headers"] = dict(self.headers)
        return body


@dataclass(frozen=True)
class HookAction:
    """One planned request: create a hook, or update hook ``hook_id``.

    ``reasons`` lists what is wrong: ``missing``, ``inactive``, ``wrong
    destination`` or ``wrong headers``.
    """

    kind: ActionKind
    scope: str
    body: Mapping[str, Any] = field(repr=False)
    hook_id: int | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class HookChange:
    """A create or update that BigCommerce accepted, with the hook it returned."""

    action: HookAction
    hook: Hook


@dataclass(frozen=True)
class SyncReport:
    """What ``sync_hooks`` did for one connection.

    ``hooks`` contains the service's hook of each scope as it is now.
    """

    connection: str
    destination: str
    changes: tuple[HookChange, ...]
    hooks: tuple[Hook, ...]

    @property
    def unchanged(self) -> tuple[str, ...]:
        """Scopes whose hook was already correct."""
        changed = {change.action.scope for change in self.changes}
        return tuple(hook.scope for hook in self.hooks if hook.scope not in changed)

    @property
    def active(self) -> bool:
        """Whether every scope has an active hook now."""
        return len(self.hooks) == len(HOOK_SCOPES) and all(
            hook.is_active for hook in self.hooks
        )


@dataclass(frozen=True)
class HookCheck:
    """Result of ``check_hooks``: what was found and what was repaired."""

    report: SyncReport
    disabled: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def disabled_found(self) -> bool:
        """Whether a hook was inactive or missing, so webhooks may have been lost."""
        return bool(self.disabled or self.missing)

    @property
    def repaired(self) -> tuple[str, ...]:
        """Scopes whose hook was created or updated."""
        return tuple(change.action.scope for change in self.report.changes)

    @property
    def active(self) -> bool:
        return self.report.active


class HooksClient:
    """Webhooks V3 API of one store; raises RetryableUpstreamError or
    PermanentUpstreamError by class of failure, as BigCommerceClient does."""

    def __init__(
        self,
        connection: Connection,
        *,
        session: requests.Session | None = None,
        base_url: str | None = None,
        redis: Redis | None = None,
    ) -> None:
        """Without ``redis`` the client has no shared budget and only obeys 429s."""
        self.connection = connection
        self.api = BigCommerceClient(
            connection, session=session, base_url=base_url, redis=redis
        )
        self._secrets = (
            connection.credentials.access_token,
            connection.webhooks.token,
        )

    @property
    def calls(self) -> int:
        """Number of requests sent, including those that got a 429."""
        return self.api.calls

    def list_hooks(self) -> list[Hook]:
        """Return every hook of the store, all pages."""
        hooks: list[Hook] = []
        for page in range(1, MAX_PAGES + 1):
            params = {"page": page, "limit": PAGE_LIMIT}
            body = self._data_body("GET", "/hooks", params=params)
            items = body["data"]
            if not isinstance(items, list):
                raise RetryableUpstreamError(
                    "GET /hooks: BigCommerce returned data that is not a list"
                )
            hooks.extend(Hook.from_api(item) for item in items)
            if len(items) < PAGE_LIMIT or page >= total_pages(body):
                return hooks
        raise RetryableUpstreamError(
            f"GET /hooks: more than {MAX_PAGES} pages of webhooks; stopped"
        )

    def create_hook(self, body: Mapping[str, Any]) -> Hook:
        """Create a hook from a ``webhook_Base`` body and return it."""
        response = self._data_body("POST", "/hooks", json_body=body)
        return Hook.from_api(response["data"])

    def update_hook(self, hook_id: int, body: Mapping[str, Any]) -> Hook:
        """Change a hook with a ``webhook_Put`` body; raises HookNotFound."""
        response = self._data_body("PUT", f"/hooks/{hook_id}", json_body=body)
        return Hook.from_api(response["data"])

    def _data_body(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        response = self._request(method, path, params=params, json_body=json_body)
        if response.status_code == 404:
            raise HookNotFound(f"{method} {path}: webhook not found", status=404)
        try:
            body = response.json()
        except ValueError:
            raise RetryableUpstreamError(
                f"{method} {path}: BigCommerce returned invalid JSON "
                f"(HTTP {response.status_code})"
            ) from None
        if not isinstance(body, dict) or "data" not in body:
            raise RetryableUpstreamError(
                f"{method} {path}: BigCommerce returned no data object"
            )
        return body

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json_body: Mapping[str, Any] | None,
    ) -> requests.Response:
        """Send with waits on 429; raises by class on 5xx, other 4xx and errors.

        A 429 means BigCommerce did not act on the request, so a POST is sent
        again too.
        """
        response = self.api.send(
            method,
            "/v3" + path,
            params=dict(params) if params is not None else None,
            json=json_body,
        )
        self._raise_for_status(method, path, response)
        return response

    def _raise_for_status(
        self, method: str, path: str, response: requests.Response
    ) -> None:
        status = response.status_code
        if status < 400 or status == 404:
            return
        detail = response_text(response, secrets=self._secrets)
        message = f"{method} {path}: BigCommerce returned HTTP {status}: {detail}"
        if status == 408 or status >= 500:
            raise RetryableUpstreamError(message, status=status, detail=detail)
        raise PermanentUpstreamError(message, status=status, detail=detail)


def webhook_destination(public_url: str | None) -> str:
    """Return the webhook URL under ``public_url``; raises PublicUrlNotSet."""
    if not public_url:
        raise PublicUrlNotSet()
    return public_url.rstrip("/") + WEBHOOK_PATH


def desired_hooks(connection: Connection, public_url: str | None) -> list[DesiredHook]:
    """Return the four order hooks a connection needs; raises PublicUrlNotSet."""
    destination = webhook_destination(public_url)
    webhooks = connection.webhooks
    headers = {webhooks.header: webhooks.token} if webhooks.token else {}
    return [DesiredHook(scope, destination, headers) for scope in HOOK_SCOPES]


def plan_hooks(
    existing: Iterable[Hook], desired: Iterable[DesiredHook]
) -> list[HookAction]:
    """Return the creates and updates that give each desired hook a correct hook.

    A hook belongs to the service when its scope is desired and its destination
    has the desired host and path, or it carries the desired webhook token. Of
    those, a correct one is kept as it is. Otherwise the closest one is updated,
    and a scope without one gets a new hook. Hooks of other scopes and other
    destinations are left alone, and nothing is deleted.
    """
    hooks = sorted(existing, key=lambda hook: hook.id)
    claimed: set[int] = set()
    seen: set[tuple[str, str]] = set()
    actions: list[HookAction] = []
    for target in desired:
        if (target.scope, target.destination) in seen:
            continue
        seen.add((target.scope, target.destination))

        candidates = [
            hook
            for hook in hooks
            if hook.scope == target.scope
            and hook.id not in claimed
            and _belongs_to(hook, target)
        ]
        correct = [hook for hook in candidates if not _problems(hook, target)]
        if correct:
            claimed.add(correct[0].id)
            continue
        if not candidates:
            actions.append(
                HookAction(
                    "create", target.scope, target.create_body(), None, ("missing",)
                )
            )
            continue
        hook = min(candidates, key=lambda hook: len(_problems(hook, target)))
        claimed.add(hook.id)
        actions.append(
            HookAction(
                "update",
                target.scope,
                _update_body(hook, target),
                hook.id,
                _problems(hook, target),
            )
        )
    return actions


def _belongs_to(hook: Hook, target: DesiredHook) -> bool:
    if _same_endpoint(hook.destination, target.destination):
        return True
    return bool(target.headers) and _carries_headers(hook, target.headers)


def _problems(hook: Hook, target: DesiredHook) -> tuple[str, ...]:
    problems = []
    if not hook.is_active:
        problems.append("inactive")
    # Compared exactly, because the endpoint returns 404 for a trailing slash.
    if hook.destination != target.destination:
        problems.append("wrong destination")
    if not _carries_headers(hook, target.headers):
        problems.append("wrong headers")
    return tuple(problems)


def _same_endpoint(left: str, right: str) -> bool:
    """Return whether two URLs have the same host and path.

    The host ignores case and the path ignores a trailing slash.
    """
    left_parts, right_parts = urlsplit(left.strip()), urlsplit(right.strip())
    return (left_parts.hostname or "") == (right_parts.hostname or "") and (
        left_parts.path.rstrip("/") == right_parts.path.rstrip("/")
    )


def _carries_headers(hook: Hook, expected: Mapping[str, str]) -> bool:
    """Return whether the hook sends every expected header; names ignore case."""
    sent = {name.lower(): value for name, value in hook.headers.items()}
    return all(sent.get(name.lower()) == value for name, value in expected.items())


def _update_body(hook: Hook, target: DesiredHook) -> dict[str, Any]:
    """Return a ``webhook_Put`` body; the hook's other custom headers are kept."""
    body: dict[str, Any] = {"destination": target.destination, "is_active": True}
    if target.headers:
        replaced = {name.lower() for name in target.headers}
        headers = {
            name: value
            for name, value in hook.headers.items()
            if name.lower() not in replaced
        }
        body["headers"] = {**headers, **target.headers}
    return body


def sync_hooks(
    connection: Connection,
    public_url: str | None,
    *,
    client: HooksClient | None = None,
) -> SyncReport:
    """Create and repair the connection's order hooks; idempotent.

    Raises PublicUrlNotSet before any request when ``public_url`` is not set, and
    RetryableUpstreamError or PermanentUpstreamError when BigCommerce fails.
    """
    desired = desired_hooks(connection, public_url)
    client = client or HooksClient(connection)
    existing = client.list_hooks()
    actions = plan_hooks(existing, desired)
    changes = tuple(_apply(client, connection, action) for action in actions)

    changed = {change.action.scope: change.hook for change in changes}
    hooks = []
    for target in desired:
        hook = changed.get(target.scope) or _correct_hook(existing, target)
        if hook is not None:
            hooks.append(hook)
    return SyncReport(connection.name, desired[0].destination, changes, tuple(hooks))


def _correct_hook(existing: Sequence[Hook], target: DesiredHook) -> Hook | None:
    for hook in sorted(existing, key=lambda hook: hook.id):
        if hook.scope == target.scope and not _problems(hook, target):
            return hook
    return None


def _apply(
    client: HooksClient, connection: Connection, action: HookAction
) -> HookChange:
    if action.kind == "create":
        hook = client.create_hook(action.body)
    else:
        assert action.hook_id is not None
        hook = client.update_hook(action.hook_id, action.body)
    logger.info(
        "webhook %s %sd (connection=%s hook=%s): %s",
        action.scope,
        action.kind,
        connection.name,
        hook.id,
        ", ".join(action.reasons),
    )
    return HookChange(action, hook)


def check_hooks(
    connection: Connection,
    public_url: str | None,
    *,
    client: HooksClient | None = None,
) -> HookCheck:
    """Re-enable and repair the connection's order hooks, and report what was wrong.

    Raises like ``sync_hooks``.
    """
    report = sync_hooks(connection, public_url, client=client)
    disabled = tuple(
        change.action.scope
        for change in report.changes
        if "inactive" in change.action.reasons
    )
    missing = tuple(
        change.action.scope
        for change in report.changes
        if change.action.kind == "create"
    )
    return HookCheck(report, disabled, missing)


def hook_check_key(connection: str) -> str:
    return f"sync:hooks:last:{connection}"


def last_hook_check(redis: Redis, connection: str) -> dict[str, Any] | None:
    """Return the stored result of the connection's last hook check, or None."""
    raw = redis.get(hook_check_key(connection))
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        logger.warning("invalid JSON in %s; ignored", hook_check_key(connection))
        return None
    return record if isinstance(record, dict) else None


def catch_up_since(previous: Mapping[str, Any] | None, now: dt.datetime) -> dt.datetime:
    """Return the start of a catch-up poll after a hook was found disabled or missing.

    That is the last check that left every hook active, minus CATCH_UP_MARGIN, or
    CATCH_UP_DEFAULT before ``now`` when no such check is stored.
    """
    if previous and previous.get("active") is True:
        try:
            checked_at = dt.datetime.fromisoformat(str(previous["at"]))
        except (KeyError, ValueError):
            checked_at = None
        if checked_at is not None and checked_at.tzinfo is not None:
            return checked_at - CATCH_UP_MARGIN
    return now - CATCH_UP_DEFAULT


def check_hooks_job(connection_name: str) -> dict[str, Any]:
    """RQ job: check and repair one connection's hooks, then catch up if needed.

    Stores ``{"at", "active", "repaired", "disabled_found"}`` in
    ``sync:hooks:last:{connection}``. When a hook was disabled or missing, it queues
    ``workers.reconcile.reconcile_connection(connection_name, since=ISO 8601)`` on
    the orders queue. Returns the stored record plus ``reconcile_job`` (an id or
    None).
    """
    context = worker_context()
    redis = context.redis
    settings = context.settings
    connection = settings.connection(connection_name)
    if connection is None:
        logger.error(
            "webhook check: connection %s is no longer configured; dropped",
            connection_name,
        )
        return {"connection": connection_name, "result": "connection removed"}

    started = dt.datetime.now(dt.UTC)
    previous = last_hook_check(redis, connection_name)
    check = check_hooks(
        connection, settings.public_url, client=HooksClient(connection, redis=redis)
    )
    record = {
        "at": started.isoformat(),
        "active": check.active,
        "repaired": list(check.repaired),
        "disabled_found": check.disabled_found,
    }
    # The catch-up is queued before the record is stored, so a stored record with
    # disabled_found true always has its catch-up job.
    # NOTE: when queuing fails after the repair, the next check finds every hook
    # active and queues no catch-up for the gap.
    reconcile_job = None
    if check.disabled_found:
        reconcile_job = _enqueue_catch_up(
            redis, connection_name, catch_up_since(previous, started), check
        )
    redis.set(hook_check_key(connection_name), json.dumps(record))
    if not check.active:
        logger.error(
            "webhook check (connection=%s): some order hooks are still inactive "
            "after the repair",
            connection_name,
        )
    return {**record, "reconcile_job": reconcile_job}


def _enqueue_catch_up(
    redis: Redis, connection_name: str, since: dt.datetime, check: HookCheck
) -> str:
    queue = Queue(ORDER_QUEUE, connection=redis)
    job = queue.enqueue_call(
        RECONCILE_JOB,
        args=(connection_name,),
        kwargs={"since": since.isoformat()},
    )
    logger.warning(
        "webhook check (connection=%s): disabled %s, missing %s; repaired, and "
        "queued catch-up poll %s for orders since %s",
        connection_name,
        ", ".join(check.disabled) or "none",
        ", ".join(check.missing) or "none",
        job.id,
        since.isoformat(),
    )
    return job.id
