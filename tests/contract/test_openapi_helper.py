"""The OpenAPI helper itself: folder lookup, skips, and Swagger 2.0 documents."""

from pathlib import Path

import pytest

from tests.contract import openapi
from tests.contract.openapi import (
    ContractError,
    load_document,
    query_parameters,
    require_reference_file,
    response_schema_pointer,
    validate_response,
    validate_schema,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

SWAGGER_DOCUMENT = """\
swagger: '2.0'
info: {title: Sample, version: '1'}
paths:
  /orders/{order_id}:
    get:
      parameters:
        - $ref: '#/parameters/order_id'
        - {name: include, in: query, type: array, items: {type: string},
           collectionFormat: csv, required: false}
      responses:
        '200':
          $ref: '#/responses/order_Resp'
parameters:
  order_id: {name: order_id, in: path, type: integer, required: true}
responses:
  order_Resp:
    description: One order.
    schema:
      $ref: '#/definitions/order'
definitions:
  order:
    type: object
    required: [id]
    properties:
      id: {type: integer}
      external_id: {type: string, x-nullable: true}
      date_shipped: {type: string}
"""


@pytest.fixture
def swagger_document(tmp_path):
    path = tmp_path / "sample.swagger.yml"
    path.write_text(SWAGGER_DOCUMENT, encoding="utf-8")
    return load_document(path)


def test_default_folder_next_to_repository(monkeypatch):
    monkeypatch.delenv(openapi.ENV_VAR, raising=False)

    expected = REPO_ROOT.parent / "shared" / "bigcommerce-openapi"
    assert openapi.openapi_dir() == expected


def test_env_var_overrides_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(openapi.ENV_VAR, str(tmp_path))

    assert openapi.openapi_dir() == tmp_path


def test_missing_folder_skips_with_path(monkeypatch, tmp_path):
    missing = tmp_path / "no-such-folder"
    monkeypatch.setenv(openapi.ENV_VAR, str(missing))

    with pytest.raises(pytest.skip.Exception, match="no-such-folder"):
        require_reference_file(openapi.ORDERS_V2_FILE)


def test_swagger_response_through_refs(swagger_document):
    pointer = response_schema_pointer(swagger_document, "/orders/{order_id}")

    assert pointer == "#/responses/order_Resp/schema"


def test_swagger_x_nullable_accepts_null(swagger_document):
    body = {"id": 1, "external_id": None, "date_shipped": ""}

    validate_response(swagger_document, "/orders/{order_id}", body)


@pytest.mark.parametrize(
    "body",
    [
        {"id": 1, "date_shipped": None},
        {"id": "1"},
        {"external_id": "A-1"},
    ],
    ids=["null-not-nullable", "id-string", "id-missing"],
)
def test_swagger_schema_rejects(swagger_document, body):
    with pytest.raises(ContractError):
        validate_response(swagger_document, "/orders/{order_id}", body)


def test_swagger_query_parameters(swagger_document):
    parameters = query_parameters(swagger_document, "/orders/{order_id}")

    assert list(parameters) == ["include"]


def test_missing_operation_named(swagger_document):
    with pytest.raises(ContractError, match="not found"):
        response_schema_pointer(swagger_document, "/orders")


OPENAPI_DOCUMENT = """\
openapi: '3.0.3'
info: {title: Sample, version: '1'}
paths: {}
components:
  schemas:
    item:
      type: object
      properties:
        id: {type: integer, readOnly: true}
        price: {type: number, x-nullable: true}
"""


@pytest.fixture
def openapi_document(tmp_path):
    path = tmp_path / "sample.v3.yml"
    path.write_text(OPENAPI_DOCUMENT, encoding="utf-8")
    return load_document(path)


def test_write_check_rejects_read_only(openapi_document):
    pointer = "#/components/schemas/item"

    validate_schema(openapi_document, pointer, {"id": 1})
    with pytest.raises(ContractError, match="read-only"):
        validate_schema(openapi_document, pointer, {"id": 1}, write=True)


def test_openapi3_x_nullable_accepts_null(openapi_document):
    validate_schema(openapi_document, "#/components/schemas/item", {"price": None})
