"""Client of BigCommerce's v3 catalog API: products, custom fields, options, variants.

Requests go through BigCommerceClient.send, so catalog calls share the store's
rate-limit budget and 429 handling with the order calls. A write that BigCommerce
rejects or saves only in part raises CatalogRejected with BigCommerce's messages.
"""

from __future__ import annotations

from typing import Any

import requests
from redis import Redis

from config.errors import PermanentUpstreamError, RetryableUpstreamError
from config.model import Connection
from workers.bigcommerce import BigCommerceClient, total_pages

CATALOG = "/v3/catalog"
PAGE_LIMIT = 250
MAX_PAGES = 100


class CatalogRejected(PermanentUpstreamError):
    """A catalog write that BigCommerce rejected (4xx) or saved with issues (207).

    ``messages`` contains BigCommerce's own messages. ``product_id`` is the product the
    write touched when BigCommerce named one, as it does for a 207.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        messages: list[str],
        product_id: int | None = None,
    ) -> None:
        super().__init__(message, status=status, detail="; ".join(messages))
        self.messages = messages
        self.product_id = product_id


class CatalogClient:
    """Catalog API of one store.

    Raises RetryableUpstreamError on 5xx, 408 and network errors, and
    CatalogRejected on other failed writes.
    """

    def __init__(
        self,
        connection: Connection,
        *,
        session: requests.Session | None = None,
        base_url: str | None = None,
        redis: Redis | None = None,
    ) -> None:
        """Without ``redis`` the client has no shared budget and only obeys 429s."""
        self.api = BigCommerceClient(
            connection, session=session, base_url=base_url, redis=redis
        )

    @property
    def calls(self) -> int:
        """Number of requests sent, including those that got a 429."""
        return self.api.calls

    def find_product(self, sku: str) -> dict[str, Any] | None:
        """Return the product whose own SKU is ``sku``, or None."""
        found = self._list("/products", {"sku": sku})
        return next((item for item in found if item.get("sku") == sku), None)

    def find_variant(self, sku: str) -> dict[str, Any] | None:
        """Return the variant with SKU ``sku`` in any product, or None."""
        found = self._list("/variants", {"sku": sku})
        return next((item for item in found if item.get("sku") == sku), None)

    def list_variants(self, product_id: int) -> list[dict[str, Any]]:
        return self._list(f"/products/{product_id}/variants")

    def list_options(self, product_id: int) -> list[dict[str, Any]]:
        return self._list(f"/products/{product_id}/options")

    def list_custom_fields(self, product_id: int) -> list[dict[str, Any]]:
        return self._list(f"/products/{product_id}/custom-fields")

    def create_product(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._write("POST", "/products", body)

    def update_product(self, product_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self._write("PUT", f"/products/{product_id}", body, product_id)

    def create_custom_field(
        self, product_id: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        path = f"/products/{product_id}/custom-fields"
        return self._write("POST", path, body, product_id)

    def update_custom_field(
        self, product_id: int, field_id: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        path = f"/products/{product_id}/custom-fields/{field_id}"
        return self._write("PUT", path, body, product_id)

    def create_option(self, product_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self._write("POST", f"/products/{product_id}/options", body, product_id)

    def create_option_value(
        self, product_id: int, option_id: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        path = f"/products/{product_id}/options/{option_id}/values"
        return self._write("POST", path, body, product_id)

    def create_variant(self, product_id: int, body: dict[str, Any]) -> dict[str, Any]:
        path = f"/products/{product_id}/variants"
        return self._write("POST", path, body, product_id)

    def update_variant(
        self, product_id: int, variant_id: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        path = f"/products/{product_id}/variants/{variant_id}"
        return self._write("PUT", path, body, product_id)

    def _list(
        self, path: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Fetch every page of a v3 list, following ``meta.pagination``."""
        items: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            page_params = {**(params or {}), "page": page, "limit": PAGE_LIMIT}
            response = self._checked("GET", path, params=page_params)
            body = _json_object(response, f"GET {CATALOG}{path}")
            data = body.get("data")
            if not isinstance(data, list):
                raise RetryableUpstreamError(
                    f"GET {CATALOG}{path}: BigCommerce returned data that is not a list"
                )
            items.extend(item for item in data if isinstance(item, dict))
            if len(data) < PAGE_LIMIT or page >= total_pages(body):
                return items
        raise RetryableUpstreamError(
            f"GET {CATALOG}{path}: more than {MAX_PAGES} pages; stopped"
        )

    def _write(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        product_id: int | None = None,
    ) -> dict[str, Any]:
        """Send a write and return its ``data`` object; raises CatalogRejected."""
        request = f"{method} {CATALOG}{path}"
        response = self._checked(method, path, json=body)
        status = response.status_code
        if status == 207 or status >= 400:
            reply = _json_or_none(response)
            raise CatalogRejected(
                f"{request}: BigCommerce returned HTTP {status}",
                status=status,
                messages=[
                    self._masked(message)
                    for message in _error_messages(
                        reply, self.api.error_detail(response)
                    )
                ],
                product_id=_product_id(reply) or product_id,
            )
        data = _json_object(response, request).get("data")
        if not isinstance(data, dict):
            raise RetryableUpstreamError(f"{request}: BigCommerce returned no data")
        return data

    def _masked(self, text: str) -> str:
        """Replace the access token in a BigCommerce message, which may echo it."""
        token = self.api.connection.credentials.access_token
        return text.replace(token, "***") if token else text

    def _checked(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> requests.Response:
        """Send a request; raises on the failures that no caller handles itself."""
        request = f"{method} {CATALOG}{path}"
        response = self.api.send(method, CATALOG + path, params=params, json=json)
        status = response.status_code
        if status == 408 or status >= 500:
            detail = self.api.error_detail(response)
            raise RetryableUpstreamError(
                f"{request}: BigCommerce returned HTTP {status}: {detail}",
                status=status,
                detail=detail,
            )
        if status in (401, 403) or (method == "GET" and status >= 400):
            detail = self.api.error_detail(response)
            raise PermanentUpstreamError(
                f"{request}: BigCommerce returned HTTP {status}: {detail}",
                status=status,
                detail=detail,
            )
        return response


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _json_object(response: requests.Response, request: str) -> dict[str, Any]:
    body = _json_or_none(response)
    if not isinstance(body, dict):
        raise RetryableUpstreamError(
            f"{request}: BigCommerce returned a body that is not a JSON object "
            f"(HTTP {response.status_code})"
        )
    return body


def _error_messages(reply: Any, fallback: str) -> list[str]:
    """Return the messages of a v3 error or 207 body: its title, then each error.

    v3 errors look like ``{"status": 409, "title": "...", "errors": {"field":
    "message"}}``; a body of another shape gives its text, tokens masked.
    """
    if not isinstance(reply, dict):
        return [fallback or "no message"]
    messages = []
    title = reply.get("title")
    if isinstance(title, str) and title:
        messages.append(title)
    errors = reply.get("errors")
    if isinstance(errors, dict):
        messages.extend(f"{name}: {text}" for name, text in errors.items())
    elif isinstance(errors, list):
        messages.extend(str(item) for item in errors)
    return messages or [fallback or "no message"]


def _product_id(reply: Any) -> int | None:
    data = reply.get("data") if isinstance(reply, dict) else None
    product_id = data.get("id") if isinstance(data, dict) else None
    return product_id if isinstance(product_id, int) else None
