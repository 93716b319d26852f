"""Validates live responses against the official OpenAPI (Swagger 2.0) specs (tests/fixtures/specs).

Each spec file is registered under its file URI so relative `$ref`s into common-types resolve; the
schema checked is the operation's own response schema, addressed by JSON pointer.
"""

import json
import os
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ROOT = Path(__file__).resolve().parents[2]
# Unmodified copies of ../shared/specs, kept in the repository so a clone tests on its own.
SPECS = Path(os.environ.get("IOTM_SPECS", ROOT / "tests" / "fixtures" / "specs"))


def _retrieve(uri: str) -> Resource:
    path = Path(uri.removeprefix("file://"))
    return Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT4)


@lru_cache(maxsize=None)
def _registry() -> Registry:
    return Registry(retrieve=_retrieve)


def _pointer(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


# Where a spec disagrees with what Azure really sends, the wire wins; each erratum says why.
# (spec file, operation path) -> properties the spec marks required that Azure may omit.
ERRATA = {
    # SubscriptionListResult marks nextLink required, but ARM omits it on the last page (and the
    # SDKs stop paging when it is absent); sending a value would make clients fetch a page more.
    ("specification/resources/resource-manager/Microsoft.Resources/stable/2022-12-01/subscriptions.json", "/subscriptions"): {"nextLink"},
}


def _is_erratum(spec: str, path: str, error) -> bool:
    # x-ms-enum modelAsString: the values are open-ended ("extensible enum"), clients accept others.
    if error.validator == "enum" and error.schema.get("x-ms-enum", {}).get("modelAsString"):
        return True
    # Swagger 2.0 has no nullable: Azure services send null for unset values (IoT Hub's
    # statusReason, deviceScope) and the generated clients accept it unless x-nullable is false.
    if error.validator == "type" and error.instance is None and error.schema.get("x-nullable") is not False:
        return True
    # TwinProperties types every desired/reported entry as an object, but the service puts its own
    # `$version` (a number) and `$metadata` there; the SDK's own models read them.
    if path.startswith("/twins/") and error.validator == "type" and str(list(error.path)[-1]).startswith("$"):
        return True
    # A bare `{"type": "object"}` (twin tags and properties, configuration content, method
    # payloads) is AutoRest's "any": the generated clients read any JSON value there, and the hub
    # sends numbers, strings and booleans in those places.
    if error.validator == "type" and error.schema.get("type") == "object" and not {"properties", "additionalProperties", "allOf"} & set(error.schema):
        return True
    allowed = ERRATA.get((spec, path), set())
    return error.validator == "required" and any(f"'{p}' is a required property" == error.message for p in allowed)


def validate(spec: str, path: str, method: str, status: int | str, body) -> None:
    """Raises jsonschema.ValidationError (naming the field) when `body` breaks the spec."""
    spec_path = SPECS / spec
    document = json.loads(spec_path.read_text())
    responses = document["paths"][path][method]["responses"]
    key = str(status) if str(status) in responses else "default"
    assert "schema" in responses[key], f"{spec} {method.upper()} {path} has no schema for {status}"
    schema = {"$ref": f"{spec_path.as_uri()}#/paths/{_pointer(path)}/{method}/responses/{key}/schema"}
    for error in Draft4Validator(schema, registry=_registry()).iter_errors(body):
        if not _is_erratum(spec, path, error):
            raise error
