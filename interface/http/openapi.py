"""The API document as client generators need it: an operation id per endpoint, the
response headers the service sends, and an example on every request body."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

#: Endpoint functions whose plain name another module's endpoint also has (a client
#: generator needs every operation id unique): (module, function) → operation id.
RENAMED: dict[tuple[str, str], str] = {
    ("relationships", "register"): "register_relationship",
    ("staff", "register"): "register_staff",
    ("branches", "register"): "register_branch",
    ("branches", "close"): "close_branch",
    ("branches", "reopen"): "reopen_branch",
    ("shipments", "cancel"): "cancel_shipment",
    ("shipments", "evaluate"): "evaluate_shipment",
    ("opportunities", "evaluate"): "evaluate_opportunity",
    ("follow_ups", "cancel"): "cancel_follow_up",
    ("follow_ups", "assign"): "assign_follow_up",
    ("cases", "assign"): "assign_case",
    ("cases", "reopen"): "reopen_case",
    ("cases", "close"): "close_case",
    ("cases", "rate"): "rate_case",
    ("self_service", "open_case"): "open_own_case",
    ("self_service", "rate"): "rate_own_shipment",
}


def operation_id(route: APIRoute) -> str:
    """The endpoint function's name (``list_relationships``, ``book``), or its entry in
    ``RENAMED`` where two modules name their functions alike: what a generated client
    calls the method; unique across the service (a test holds it so)."""
    module = route.endpoint.__module__.rsplit(".", 1)[-1]
    return RENAMED.get((module, route.name), route.name)


# --- response headers -------------------------------------------------------------------

_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "The aggregate's version after the command (send it back as If-Match)",
        "schema": {"type": "string", "examples": ['"7"']},
    },
    "Location": {
        "description": "Where the record the command created is read",
        "schema": {"type": "string", "examples": ["/v1/relationships/{id}"]},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the original answer of a command whose "
        "Idempotency-Key came again (nothing new was written)",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "required": True,
        "schema": {"type": "string", "examples": ["1"]},
    },
}
_VERSION_ETAG = {
    "description": "The record's version (send it as If-Match with a command on it)",
    "required": True,
    "schema": {"type": "string", "examples": ['"7"']},
}
_FILE_ETAG = {
    "description": "The file's SHA-256, quoted",
    "required": True,
    "schema": {"type": "string"},
}
#: The reads of one record that answer its version (or a file's digest) as ``ETag``.
ETAG_READS: dict[str, dict[str, Any]] = {
    "branch": _VERSION_ETAG,
    "case": _VERSION_ETAG,
    "follow_up": _VERSION_ETAG,
    "segment": _VERSION_ETAG,
    "campaign": _VERSION_ETAG,
    "offering": _VERSION_ETAG,
    "opportunity": _VERSION_ETAG,
    "get_relationship": _VERSION_ETAG,
    "responsibility": _VERSION_ETAG,
    "profile": _VERSION_ETAG,
    "shipment_attachment": _FILE_ETAG,
    "relationship_attachment": _FILE_ETAG,
}


def document_headers(schema: dict[str, Any]) -> None:
    """The response headers each answer carries: a command's ``ETag`` (its new version),
    ``Location`` (201) and ``Idempotent-Replayed`` (a replay), the ``ETag`` of the reads
    of one record (``ETAG_READS``), and ``Retry-After`` on 429 and 503. The fuzzing checks
    that every header declared required is sent."""
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            for status, response in operation.get("responses", {}).items():
                headers = response.setdefault("headers", {})
                if status in ("429", "503"):
                    headers["Retry-After"] = _HEADERS["Retry-After"]
                elif method == "post" and status.startswith("2"):
                    headers["Idempotent-Replayed"] = _HEADERS["Idempotent-Replayed"]
                    if _answers(response, "CommandAccepted"):
                        headers["ETag"] = _HEADERS["ETag"]
                    if status == "201":
                        headers["Location"] = _HEADERS["Location"]
                elif method == "get" and status == "200" and operation["operationId"] in ETAG_READS:
                    headers["ETag"] = ETAG_READS[operation["operationId"]]
                if not headers:
                    del response["headers"]


def _answers(response: dict[str, Any], name: str) -> bool:
    content = response.get("content", {}).get("application/json", {})
    reference: str = content.get("schema", {}).get("$ref", "")
    return reference.endswith(f"/{name}")


# --- examples ---------------------------------------------------------------------------

#: Values a field of that name takes in the examples: the demo's seed customer and staff.
_BY_NAME: dict[str, Any] = {
    "name": "苏州华芯电子有限公司",
    "name_zh": "苏州华芯电子有限公司",
    "name_en": "Suzhou Huaxin Electronics Co., Ltd.",
    "contact_name": "Wang Fang 王芳",
    "company": "苏州华芯电子有限公司",
    "title": "Logistics manager",
    "phone": "+86 512 6666 0001",
    "email": "wang.fang@huaxin.example",
    "summary": "Visited the warehouse with Ms Wang; Q2 volumes to Chicago confirmed",
    "description": "Two cartons arrived crushed at the Chicago warehouse",
    "subject": "Damaged cartons on the Chicago shipment",
    "note": "Call about the signed proof of delivery",
    "reason": "The customer asked for it in writing",
    "resolution": "Cartons replaced; the customer confirmed receipt",
    "remarks": "On time, packaging intact",
    "comment": "Agreed with the airline's station manager",
    "explanation": "The airline accepted the damage report at import",
    "staff_id": "li.wei",
    "staff": "li.wei",
    "assignee": "li.wei",
    "owner": "zhang.min",
    "field_rep": "li.wei",
    "office_rep": "zhang.min",
    "taken_by": "li.wei",
    "signed_by": "Zhao Gang 赵刚",
    "branch": "Suzhou",
    "code": "Suzhou",
    "branches": ["Suzhou"],
    "region": "East China",
    "regions": ["East China"],
    "industry": "electronics",
    "industries": ["electronics"],
    "currency": "CNY",
    "amount": "30000.00",
    "budget": "50000.00",
    "expected_value": "480000.00",
    "indicative_value": "480000.00",
    "declared_value": "2400000.00",
    "sdr_rate": "9.6",
    "origin": "Suzhou",
    "destination": "Chicago",
    "time_zone": "Asia/Shanghai",
    "holiday_time_zone": "Asia/Shanghai",
    "contact_id": "wang",
    "reference": "FC-2026-0001",
    "invoice_number": "INV-2026-0001",
    "invoice_reference": "INV-2026-0001",
    "payment_reference": "PAY-2026-0001",
    "label": "warehouse integration",
    "gross_weight_kg": "1840.5",
    "weight_affected_kg": "30.2",
    "packages": 120,
    "packages_affected": 2,
    "un_number": "UN3481",
    "hazard_class": "9",
    "signature": "0" * 128,
}
_UUID = "0b0e5a8e-1111-4a4a-8a8a-000000000001"
_BY_PATTERN = {
    "^[A-Z]{3}$": "CNY",
    "^[A-Za-z]{3}$": "CNY",
    "^[0-9a-f]{64}$": "0" * 64,
    "^[A-Za-z][A-Za-z0-9_-]{0,39}$": "Suzhou",
    "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$": "wang.fang@huaxin.example",
    "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$": "air/export",
    "^[A-Za-z0-9_.:@-]+$": "li.wei",
}
_BY_FORMAT = {
    "date-time": "2026-03-02T09:30:00+08:00",
    "date": "2026-03-02",
    "uuid": _UUID,
}


def document_examples(schema: dict[str, Any]) -> None:
    """An example on every request body that has none: built from its schema (the values
    above where a field's name, pattern or format calls for them); a test holds every one
    valid against the schema it illustrates."""
    components = schema.get("components", {}).get("schemas", {})
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                if "example" not in media and "examples" not in media:
                    media["example"] = example_of(media["schema"], components)


def example_of(node: dict[str, Any], components: dict[str, Any], name: str = "") -> Any:
    """An instance of the JSON schema ``node``: its own example, default or first choice
    where it has one, else one made from its type."""
    if "$ref" in node:
        return example_of(components[node["$ref"].rsplit("/", 1)[-1]], components, name)
    if node.get("examples"):
        return node["examples"][0]
    if name in _BY_NAME and "enum" not in node and "const" not in node:
        return _BY_NAME[name]
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return node["enum"][0]
    for choice in ("anyOf", "oneOf"):
        if choice in node:
            options = [o for o in node[choice] if o.get("type") != "null"] or node[choice]
            return example_of(options[0], components, name)
    if "allOf" in node:
        return example_of(node["allOf"][0], components, name)
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        required = set(node.get("required", ()))
        return {
            field: example_of(sub, components, field)
            for field, sub in node.get("properties", {}).items()
            if field in required or field in _BY_NAME
        }
    if kind == "array":
        return [example_of(node.get("items", {}), components, name)] * max(
            1, node.get("minItems", 1)
        )
    if "default" in node and node["default"] is not None:
        return node["default"]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        low = node.get("minimum", node.get("exclusiveMinimum", 0) + 1)
        return min(max(low, 1), node.get("maximum", low + 1))
    if kind == "string":
        if node.get("contentMediaType"):
            return "(the file's bytes)"
        if node.get("format") in _BY_FORMAT:
            return _BY_FORMAT[node["format"]]
        if node.get("pattern") in _BY_PATTERN:
            return _BY_PATTERN[node["pattern"]]
        text = name.replace("_", " ") or "text"
        return (text * (1 + node.get("minLength", 0) // len(text)))[: node.get("maxLength", 200)]
    return None
