"""Checks of JSON bodies and query strings against BigCommerce's OpenAPI files.

The reference folder comes from ``BIGCOMMERCE_OPENAPI_DIR`` and defaults to
DEFAULT_OPENAPI_DIR, ``shared/bigcommerce-openapi`` beside the repository
folder. Every check calls
``pytest.skip`` when its file is missing, so the contract tests skip cleanly.

Both OpenAPI 3.0 (``components``) and Swagger 2.0 (``definitions``) documents
are read. Schemas are checked with openapi-schema-validator's OAS 3.0 response
validator, which applies ``nullable`` and ``readOnly``; a Swagger 2.0
``x-nullable: true`` is read as ``nullable: true``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import ValidationError
from openapi_schema_validator import OAS30ReadValidator
from referencing import Registry
from referencing.jsonschema import DRAFT4
from ruamel.yaml import YAML

ENV_VAR = "BIGCOMMERCE_OPENAPI_DIR"
ORDERS_V2_FILE = "orders.v2.oas2.yml"
WEBHOOKS_FILE = "webhooks.v3.yml"
DEFAULT_OPENAPI_DIR = (
    Path(__file__).resolve().parents[2].parent / "shared" / ("bigcommerce-openapi")
)

# Response kinds of the Orders V2 API and the path of the GET operation for each.
ORDER_PATHS = {
    "order": "/orders/{order_id}",
    "orders": "/orders",
    "products": "/orders/{order_id}/products",
    "shipping_addresses": "/orders/{order_id}/shipping_addresses",
    "coupons": "/orders/{order_id}/coupons",
}

# Schema for callbacks whose scope has no schema of its own in webhooks.v3.yml.
WEBHOOK_BASE_SCHEMA = "webhook_callback_base"

_DOCUMENT_URI = "urn:bigcommerce-openapi:"
_MAX_REPORTED_ERRORS = 10


class ContractError(AssertionError):
    """A body or query that does not match the reference document."""


def openapi_dir() -> Path:
    """Return the reference folder: ``$BIGCOMMERCE_OPENAPI_DIR`` or the default."""
    configured = os.environ.get(ENV_VAR)
    return Path(configured) if configured else DEFAULT_OPENAPI_DIR


def require_reference_file(name: str) -> Path:
    """Return the path of one reference file; ``pytest.skip`` when it is missing."""
    folder = openapi_dir()
    path = folder / name
    if not path.is_file():
        pytest.skip(
            f"BigCommerce OpenAPI reference file {name} not found in {folder}; "
            f"set {ENV_VAR} to the folder that contains it"
        )
    return path


@functools.cache
def load_document(path: Path) -> dict[str, Any]:
    """Load an OpenAPI or Swagger YAML file with YAML 1.2 rules, cached per path."""
    with path.open(encoding="utf-8") as handle:
        document = YAML(typ="safe", pure=True).load(handle)
    if not isinstance(document, dict):
        raise ContractError(f"{path} does not contain a YAML mapping")
    return _as_oas30_schemas(document)


def orders_v2_document() -> dict[str, Any]:
    """Return the parsed Orders V2 document, or skip the test."""
    return load_document(require_reference_file(ORDERS_V2_FILE))


def webhooks_document() -> dict[str, Any]:
    """Return the parsed Webhooks V3 document, or skip the test."""
    return load_document(require_reference_file(WEBHOOKS_FILE))


def validate_v2_order_response(kind: str, body: Any) -> None:
    """Check a 200 body of an Orders V2 GET; raises ContractError on mismatch.

    ``kind`` is one of ``ORDER_PATHS``: order, orders, products,
    shipping_addresses or coupons.
    """
    document = orders_v2_document()
    validate_response(document, _order_path(kind), body)


def validate_webhook_body(body: Any) -> None:
    """Check a webhook callback body against the schema of its scope.

    A scope without a schema in webhooks.v3.yml is checked against
    ``webhook_callback_base``, the part all callback schemas share.
    """
    document = webhooks_document()
    schema_name = webhook_schema_name(document, _scope_of(body))
    validate_schema(document, f"#/components/schemas/{schema_name}", body)


def webhook_schema_name(document: Mapping[str, Any], scope: str) -> str:
    """Return the component name for a scope, like ``store_order_created``."""
    name = scope.replace("/", "_")
    if name in document["components"]["schemas"]:
        return name
    return WEBHOOK_BASE_SCHEMA


def validate_response(
    document: Mapping[str, Any],
    path: str,
    body: Any,
    *,
    method: str = "get",
    status: str = "200",
) -> None:
    """Check ``body`` against a JSON response of one operation in ``document``."""
    pointer = response_schema_pointer(document, path, method, status)
    validate_schema(document, pointer, body)


def validate_schema(document: Mapping[str, Any], pointer: str, instance: Any) -> None:
    """Check ``instance`` against the schema at a ``#/...`` JSON pointer."""
    validator = _validator(document, pointer)
    errors = sorted(
        validator.iter_errors(instance),
        key=lambda error: [str(part) for part in error.absolute_path],
    )
    if errors:
        raise ContractError(_describe_errors(pointer, errors))


def response_schema_pointer(
    document: Mapping[str, Any], path: str, method: str = "get", status: str = "200"
) -> str:
    """Return the JSON pointer of the response body schema of one operation.

    Follows ``$ref`` from the operation to ``components/responses`` (OpenAPI 3)
    or ``responses`` (Swagger 2). Raises ContractError when there is none.
    """
    pointer = f"#/paths/{_escape(path)}/{method}/responses/{status}"
    response = resolve_pointer(document, pointer)
    while "$ref" in response:
        pointer = response["$ref"]
        response = resolve_pointer(document, pointer)

    if "schema" in response:
        return f"{pointer}/schema"
    if "application/json" in response.get("content", {}):
        return f"{pointer}/content/application~1json/schema"
    raise ContractError(f"{method.upper()} {path} {status} has no JSON body schema")


def resolve_pointer(document: Mapping[str, Any], pointer: str) -> Any:
    """Return the node at a local ``#/...`` JSON pointer; raises ContractError."""
    if not pointer.startswith("#/"):
        raise ContractError(f"only local references are supported, got {pointer!r}")
    node: Any = document
    for part in pointer[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(key)] if isinstance(node, list) else node[key]
        except (KeyError, IndexError, TypeError, ValueError):
            raise ContractError(f"reference {pointer!r} not found") from None
    return node


def schema_property_names(document: Mapping[str, Any], pointer: str) -> set[str]:
    """Return the property names a schema declares, through ``$ref`` and ``allOf``."""
    schema = resolve_pointer(document, pointer)
    return set(_collect_properties(document, schema))


def validate_v2_query(
    kind: str,
    args: Mapping[str, str | Iterable[str]],
    *,
    allow_undocumented: Collection[str] = (),
) -> None:
    """Check query arguments sent to an Orders V2 GET against its parameters.

    Each name must be a documented query parameter (or in ``allow_undocumented``)
    and each value must fit the parameter's schema. Raises ContractError.
    """
    document = orders_v2_document()
    parameters = query_parameters(document, _order_path(kind))
    problems = []
    for name, raw in args.items():
        if name in allow_undocumented:
            continue
        if name not in parameters:
            problems.append(f"{name}: not a documented query parameter of {kind}")
            continue
        values = [raw] if isinstance(raw, str) else list(raw)
        for value in values:
            problems += _check_query_value(document, name, parameters[name], value)
    if problems:
        raise ContractError("; ".join(problems))


def query_parameters(
    document: Mapping[str, Any], path: str, method: str = "get"
) -> dict[str, dict[str, Any]]:
    """Return the query parameters of an operation by name, with ``$ref`` resolved."""
    path_item = resolve_pointer(document, f"#/paths/{_escape(path)}")
    declared = path_item.get("parameters", []) + path_item[method].get("parameters", [])
    parameters = {}
    for parameter in declared:
        if "$ref" in parameter:
            parameter = resolve_pointer(document, parameter["$ref"])
        if parameter.get("in") == "query":
            parameters[parameter["name"]] = parameter
    return parameters


def _order_path(kind: str) -> str:
    try:
        return ORDER_PATHS[kind]
    except KeyError:
        raise ValueError(
            f"unknown response kind {kind!r}; expected one of {sorted(ORDER_PATHS)}"
        ) from None


def _scope_of(body: Any) -> str:
    if not isinstance(body, dict) or not isinstance(body.get("scope"), str):
        raise ContractError(f"webhook body has no string scope: {body!r}")
    return str(body["scope"])


def _escape(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


def _validator(document: Mapping[str, Any], pointer: str) -> Any:
    registry = Registry().with_resource(_DOCUMENT_URI, DRAFT4.create_resource(document))
    return OAS30ReadValidator(
        {"$ref": f"{_DOCUMENT_URI}{pointer}"},
        registry=registry,
        format_checker=OAS30ReadValidator.FORMAT_CHECKER,
    )


def _describe_errors(pointer: str, errors: list[ValidationError]) -> str:
    lines = [f"{len(errors)} mismatch(es) against {pointer}:"]
    for error in errors[:_MAX_REPORTED_ERRORS]:
        location = "/".join(str(part) for part in error.absolute_path) or "(root)"
        lines.append(f"  at {location}: {error.message}")
        lines.extend(f"    - {sub.message}" for sub in error.context[:3])
    return "\n".join(lines)


def _collect_properties(document: Mapping[str, Any], schema: Any) -> Iterable[str]:
    if not isinstance(schema, Mapping):
        return
    if "$ref" in schema:
        yield from _collect_properties(
            document, resolve_pointer(document, schema["$ref"])
        )
    yield from schema.get("properties", {})
    for part in schema.get("allOf", []):
        yield from _collect_properties(document, part)


def _check_query_value(
    document: Mapping[str, Any], name: str, parameter: Mapping[str, Any], value: str
) -> list[str]:
    schema = _parameter_schema(parameter)
    if name == "sort":
        # The enum lists only field names; the parameter's description adds an
        # optional ":asc" or ":desc" suffix, so the suffix is checked apart.
        value, _, direction = value.partition(":")
        if direction not in ("", "asc", "desc"):
            return [f"sort: direction {direction!r} is not asc or desc"]
    try:
        typed = _coerce(value, schema)
    except ValueError as exc:
        return [f"{name}: {exc}"]

    validator = OAS30ReadValidator(
        schema, format_checker=OAS30ReadValidator.FORMAT_CHECKER
    )
    return [
        f"{name}={value!r}: {error.message}" for error in validator.iter_errors(typed)
    ]


def _parameter_schema(parameter: Mapping[str, Any]) -> dict[str, Any]:
    if "schema" in parameter:
        return dict(parameter["schema"])
    # Swagger 2.0 puts the schema keywords on the parameter itself, next to
    # parameter fields such as a boolean "required" that JSON Schema rejects.
    return {
        key: value
        for key, value in parameter.items()
        if key not in _SWAGGER_PARAMETER_FIELDS
    }


_SWAGGER_PARAMETER_FIELDS = frozenset(
    {"name", "in", "required", "description", "collectionFormat", "allowEmptyValue"}
)


def _coerce(value: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        if value not in ("true", "false"):
            raise ValueError(f"{value!r} is not true or false")
        return value == "true"
    if kind == "array":
        item_schema = schema.get("items", {})
        return [_coerce(item, item_schema) for item in value.split(",")]
    return value


def _as_oas30_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite Swagger 2.0 schema keywords in place to their OAS 3.0 meaning."""
    if "swagger" in document:
        _rewrite_swagger_keywords(document)
    return document


def _rewrite_swagger_keywords(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("x-nullable") is True:
            node["nullable"] = True
        if isinstance(node.get("discriminator"), str):
            # A Swagger 2.0 discriminator is a property name; the OAS 3.0
            # validator expects an object, and the shape check does not need it.
            del node["discriminator"]
        for value in node.values():
            _rewrite_swagger_keywords(value)
    elif isinstance(node, list):
        for value in node:
            _rewrite_swagger_keywords(value)
