"""Checks of JSON bodies and query strings against BigCommerce's OpenAPI files.

The reference folder comes from ``BIGCOMMERCE_OPENAPI_DIR`` and defaults to
DEFAULT_OPENAPI_DIR, ``shared/bigcommerce-openapi`` beside the repository
folder. Every check calls
``pytest.skip`` when its file is missing, so the contract tests skip cleanly.

Both OpenAPI 3.0 (``components``) and Swagger 2.0 (``definitions``) documents
are read. Response bodies are checked with openapi-schema-validator's OAS 3.0
read validator, which applies ``nullable`` and ``readOnly``. Request bodies are
checked with its write validator, which rejects ``readOnly`` properties.
``x-nullable: true`` is read as ``nullable: true`` in both formats, because the
catalog's OpenAPI 3.0 files use it as well.

The catalog helpers take a request path as the stand-in receives it, like
``/stores/abc/v3/catalog/products/12/options``, find the documented operation in
CATALOG_FILES and check bodies and query strings against it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from jsonschema import ValidationError
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
from referencing import Registry
from referencing.jsonschema import DRAFT4
from ruamel.yaml import YAML

if TYPE_CHECKING:
    from sandbox.store import RequestRecord

ENV_VAR = "BIGCOMMERCE_OPENAPI_DIR"
ORDERS_V2_FILE = "orders.v2.oas2.yml"
WEBHOOKS_FILE = "webhooks.v3.yml"
PRODUCTS_FILE = "products_catalog.v3.yml"
VARIANTS_FILE = "product-variants_catalog.v3.yml"
OPTIONS_FILE = "product-variant-options_catalog.v3.yml"
CATALOG_FILES = (PRODUCTS_FILE, VARIANTS_FILE, OPTIONS_FILE)
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
# The catalog files' paths start after the server URL's ``/stores/{store_hash}/v3``.
_V3_PREFIX = re.compile(r"^/stores/[^/]+/v3(?=/)")
_METHODS = ("get", "put", "post", "delete", "patch")


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


@dataclass(frozen=True)
class CatalogOperation:
    """One documented catalog operation: its reference file, path template and method.

    ``path`` is the template as the file spells it, like
    ``/catalog/products/{product_id}/options``, and ``method`` is lower case.
    """

    file_name: str
    path: str
    method: str

    @property
    def document(self) -> dict[str, Any]:
        """Parsed reference file that documents the operation."""
        return catalog_document(self.file_name)


def catalog_document(name: str) -> dict[str, Any]:
    """Return one parsed catalog file of CATALOG_FILES, or skip the test."""
    if name not in CATALOG_FILES:
        raise ValueError(
            f"unknown catalog file {name!r}, expected one of {CATALOG_FILES}"
        )
    return load_document(require_reference_file(name))


def find_catalog_operation(method: str, path: str) -> CatalogOperation:
    """Return the documented operation for a request to ``path``.

    ``path`` is a concrete request path with or without the
    ``/stores/<hash>/v3`` prefix and query string, or a path template of the
    reference. Of the templates that match, the one with the most literal
    segments wins, so ``/catalog/products/channel-assignments`` is not read as a
    product id. Raises ContractError when no template matches or the best match
    does not document ``method``.
    """
    relative = catalog_relative_path(path)
    segments = relative.strip("/").split("/")
    best: tuple[int, str, str] | None = None
    for file_name in CATALOG_FILES:
        for template in catalog_document(file_name)["paths"]:
            score = _path_match_score(template, segments)
            if score is not None and (best is None or score > best[0]):
                best = (score, file_name, template)
    if best is None:
        raise ContractError(f"no documented catalog path matches {relative}")

    _, file_name, template = best
    path_item = catalog_document(file_name)["paths"][template]
    if method.lower() not in path_item:
        documented = sorted(name.upper() for name in path_item if name in _METHODS)
        raise ContractError(
            f"{method.upper()} {relative} is not documented. {template} in "
            f"{file_name} documents {', '.join(documented)}"
        )
    return CatalogOperation(file_name, template, method.lower())


def catalog_relative_path(path: str) -> str:
    """Return ``path`` without its query string and ``/stores/<hash>/v3`` prefix."""
    relative = _V3_PREFIX.sub("", path.split("?", 1)[0])
    if not relative.startswith("/catalog/"):
        raise ContractError(f"{path} is not a Catalog V3 path")
    return relative.rstrip("/")


def validate_catalog_request(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: Mapping[str, str | Iterable[str]] | None = None,
    allow_undocumented: Collection[str] = (),
) -> None:
    """Check one catalog request against its documented operation.

    ``body`` is the parsed JSON body, or None when the request has none. It is
    checked against the operation's request body schema with OAS 3.0 write rules,
    so ``readOnly`` properties are errors. A property that the schema does not
    declare is an error too, unless its name is in ``allow_undocumented``.
    ``query`` maps each query parameter to its value or values; each must be a
    documented parameter of the operation and fit its schema. Raises
    ContractError listing every problem.
    """
    operation = find_catalog_operation(method, path)
    problems = _catalog_body_problems(operation, body, allow_undocumented)
    if query:
        problems += _catalog_query_problems(operation, query)
    if problems:
        heading = f"{method.upper()} {catalog_relative_path(path)} ({operation.path}):"
        raise ContractError("\n".join([heading, *problems]))


def validate_catalog_response(
    method: str, path: str, body: Any, *, status: int | str = 200
) -> None:
    """Check a response body of a catalog request against the documented schema."""
    operation = find_catalog_operation(method, path)
    validate_response(
        operation.document,
        operation.path,
        body,
        method=operation.method,
        status=str(status),
    )


def validate_catalog_requests(
    records: Iterable[RequestRecord], *, allow_undocumented: Collection[str] = ()
) -> int:
    """Check every catalog request of ``records``, like ``FakeStore.requests``.

    Requests to other APIs are left out. Returns the number of catalog requests
    checked and raises one ContractError listing the problems of every request.
    """
    checked = 0
    problems = []
    for record in records:
        if "/v3/catalog/" not in record.path:
            continue
        checked += 1
        try:
            validate_catalog_request(
                record.method,
                record.path,
                record.body,
                query=record.args,
                allow_undocumented=allow_undocumented,
            )
        except ContractError as exc:
            problems.append(str(exc))
    if problems:
        raise ContractError("\n".join(problems))
    return checked


def request_body_pointer(
    document: Mapping[str, Any], path: str, method: str
) -> str | None:
    """Return the JSON pointer of an operation's JSON request body schema, or None."""
    pointer = f"#/paths/{_escape(path)}/{method}/requestBody"
    operation = resolve_pointer(document, f"#/paths/{_escape(path)}/{method}")
    if "requestBody" not in operation:
        return None
    request_body = operation["requestBody"]
    while "$ref" in request_body:
        pointer = request_body["$ref"]
        request_body = resolve_pointer(document, pointer)
    if "application/json" not in request_body.get("content", {}):
        return None
    return f"{pointer}/content/application~1json/schema"


def undocumented_properties(
    document: Mapping[str, Any], pointer: str, instance: Any
) -> list[str]:
    """Return where ``instance`` has properties that its schema does not declare.

    Only objects whose schema declares properties and does not allow additional
    ones are checked, so free-form objects such as ``value_data`` pass. Locations
    are slash-separated, like ``option_values/0/colour``.
    """
    schema = resolve_pointer(document, pointer)
    return list(_undocumented(document, schema, instance, ""))


def _path_match_score(template: str, segments: list[str]) -> int | None:
    parts = template.strip("/").split("/")
    if len(parts) != len(segments):
        return None
    score = 0
    for part, segment in zip(parts, segments, strict=True):
        if part.startswith("{") and part.endswith("}"):
            continue
        if part != segment:
            return None
        score += 1
    return score


def _catalog_body_problems(
    operation: CatalogOperation, body: Any, allow_undocumented: Collection[str]
) -> list[str]:
    document = operation.document
    pointer = request_body_pointer(document, operation.path, operation.method)
    if pointer is None:
        if body is None:
            return []
        return ["the operation documents no JSON request body, but one was sent"]
    if body is None:
        request_body = resolve_pointer(document, pointer.rsplit("/content/", 1)[0])
        if request_body.get("required"):
            return ["the operation requires a JSON request body, but none was sent"]
        return []

    problems = []
    try:
        validate_schema(document, pointer, body, write=True)
    except ContractError as exc:
        problems.append(str(exc))
    for location in undocumented_properties(document, pointer, body):
        if location.rsplit("/", 1)[-1] not in allow_undocumented:
            problems.append(f"  at {location}: not a documented property")
    return problems


def _catalog_query_problems(
    operation: CatalogOperation, query: Mapping[str, str | Iterable[str]]
) -> list[str]:
    document = operation.document
    parameters = query_parameters(document, operation.path, operation.method)
    problems = []
    for name, raw in query.items():
        if name not in parameters:
            problems.append(f"  {name}: not a documented query parameter")
            continue
        schema = _parameter_schema(parameters[name])
        if "$ref" in schema:
            schema = dict(resolve_pointer(document, schema["$ref"]))
        values = [raw] if isinstance(raw, str) else list(raw)
        for value in values:
            problems += [
                f"  {problem}"
                for problem in _check_query_value(
                    document, name, {"schema": schema}, value
                )
            ]
    return problems


def _undocumented(
    document: Mapping[str, Any], schema: Any, instance: Any, location: str
) -> Iterator[str]:
    if not isinstance(schema, Mapping):
        return
    if "$ref" in schema:
        schema = resolve_pointer(document, schema["$ref"])
    if isinstance(instance, dict):
        declared = _declared_properties(document, schema)
        check_names = bool(declared) and not _allows_additional(document, schema)
        for name, value in instance.items():
            if name in declared:
                yield from _undocumented(
                    document, declared[name], value, f"{location}{name}/"
                )
            elif check_names:
                yield f"{location}{name}"
    elif isinstance(instance, list):
        items = _items_schema(document, schema)
        for index, item in enumerate(instance):
            yield from _undocumented(document, items, item, f"{location}{index}/")


def _declared_properties(
    document: Mapping[str, Any], schema: Mapping[str, Any]
) -> dict[str, Any]:
    if "$ref" in schema:
        schema = resolve_pointer(document, schema["$ref"])
    declared = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        declared.update(_declared_properties(document, part))
    return declared


def _allows_additional(document: Mapping[str, Any], schema: Mapping[str, Any]) -> bool:
    if "$ref" in schema:
        schema = resolve_pointer(document, schema["$ref"])
    if schema.get("additionalProperties"):
        return True
    # oneOf and anyOf parts are alternatives, so no single part's list of
    # properties is the whole set.
    if "oneOf" in schema or "anyOf" in schema:
        return True
    return any(_allows_additional(document, part) for part in schema.get("allOf", []))


def _items_schema(document: Mapping[str, Any], schema: Mapping[str, Any]) -> Any:
    if "$ref" in schema:
        schema = resolve_pointer(document, schema["$ref"])
    if "items" in schema:
        return schema["items"]
    for part in schema.get("allOf", []):
        items = _items_schema(document, part)
        if items is not None:
            return items
    return None


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


def validate_schema(
    document: Mapping[str, Any], pointer: str, instance: Any, *, write: bool = False
) -> None:
    """Check ``instance`` against the schema at a ``#/...`` JSON pointer.

    ``write`` True checks a request body, where ``readOnly`` properties are errors.
    """
    validator = _validator(document, pointer, write=write)
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


def _validator(document: Mapping[str, Any], pointer: str, *, write: bool) -> Any:
    registry = Registry().with_resource(_DOCUMENT_URI, DRAFT4.create_resource(document))
    validator_class = OAS30WriteValidator if write else OAS30ReadValidator
    return validator_class(
        {"$ref": f"{_DOCUMENT_URI}{pointer}"},
        registry=registry,
        format_checker=validator_class.FORMAT_CHECKER,
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
    """Rewrite Swagger 2.0 and ``x-nullable`` keywords in place to OAS 3.0 ones."""
    _rewrite_keywords(document, swagger="swagger" in document)
    return document


def _rewrite_keywords(node: Any, *, swagger: bool) -> None:
    if isinstance(node, dict):
        if node.get("x-nullable") is True:
            node["nullable"] = True
        if swagger and isinstance(node.get("discriminator"), str):
            # A Swagger 2.0 discriminator is a property name; the OAS 3.0
            # validator expects an object, and the shape check does not need it.
            del node["discriminator"]
        for value in node.values():
            _rewrite_keywords(value, swagger=swagger)
    elif isinstance(node, list):
        for value in node:
            _rewrite_keywords(value, swagger=swagger)
