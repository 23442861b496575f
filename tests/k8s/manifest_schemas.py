"""Validate rendered manifests: Kubernetes kinds with kubernetes-validate (its schemas of each
release, strict: unknown fields are errors), the CRDs with the schemas vendored in schemas/
(see schemas/README.md for where each comes from), strict the same way."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

__all__ = ["K8S_VERSIONS", "validate_manifest", "crd_kinds"]

SCHEMAS = Path(__file__).parent / "schemas"
#: the oldest release wsbench supports (the preStop sleep action) and the newest the package knows
K8S_VERSIONS = ("1.30.0", kubernetes_validate.utils.latest_version())
_OBJECT_META = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 253,
             "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"},
    "namespace": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "annotations": {"type": "object", "additionalProperties": {"type": "string"}}}}


def _strict(schema: Any) -> Any:
    """Every object schema with properties and no additionalProperties rejects unknown fields."""
    if isinstance(schema, dict):
        out = {key: _strict(value) for key, value in schema.items()}
        if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@cache
def _crd_validators() -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    validators = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        vendored = json.loads(path.read_text())
        for api_version in vendored["apiVersions"]:
            schema = _strict({
                "type": "object",
                "required": ["apiVersion", "kind", "metadata", "spec"],
                "properties": {"apiVersion": {"const": api_version}, "kind": {"const": vendored["kind"]},
                               "metadata": _OBJECT_META, "spec": vendored["spec"]},
                "definitions": copy.deepcopy(vendored["definitions"]),
            })
            jsonschema.Draft7Validator.check_schema(schema)
            validators[(api_version, vendored["kind"])] = jsonschema.Draft7Validator(schema)
    return validators


def crd_kinds() -> set[tuple[str, str]]:
    """(apiVersion, kind) of every vendored CRD schema."""
    return set(_crd_validators())


def validate_manifest(manifest: dict[str, Any], k8s_version: str) -> list[str]:
    """Errors (empty: valid) of one manifest against ``k8s_version`` or its CRD's schema."""
    key = (manifest.get("apiVersion"), manifest.get("kind"))
    validator = _crd_validators().get(key)  # type: ignore[arg-type]
    if validator is not None:
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest)]
    try:
        kubernetes_validate.validate(manifest, k8s_version, strict=True)
    except kubernetes_validate.utils.ValidationError as exc:
        return [f"{'/'.join(map(str, exc.path))}: {exc.message}"]
    except kubernetes_validate.utils.SchemaNotFoundError as exc:
        return [exc.message]
    return []
