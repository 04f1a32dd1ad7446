"""The API document as client generators need it: an operation id per endpoint, one schema
per name, the response headers the service sends, an example on every request body that
its own schema accepts; and a Python client generated from it (openapi-python-client)
that registers, reads and lists a customer against the running service."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import jsonschema
import pytest

from interface.http.app import create_app
from interface.runtime import Services
from tests.clock import NOW
from tests.faults import LiveServer
from tests.staffing import enroll

DOCUMENT: dict[str, Any] = create_app(cast(Services, None)).openapi()
OPERATIONS = [
    (method, path, operation)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
]


def test_every_operation_has_its_own_id_a_client_can_name_a_method_after() -> None:
    ids = Counter(operation["operationId"] for _, _, operation in OPERATIONS)
    assert [name for name, count in ids.items() if count > 1] == []
    assert len(ids) == len(OPERATIONS) > 150
    for name in ids:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert "_v1_" not in name, name  # not FastAPI's path-derived default
    assert DOCUMENT["paths"]["/v1/relationships"]["post"]["operationId"] == "register_relationship"
    assert DOCUMENT["paths"]["/v1/staff"]["post"]["operationId"] == "register_staff"


def test_every_schema_has_one_plain_name() -> None:
    names = list(DOCUMENT["components"]["schemas"])
    # Neither a module path (two models of one name) nor an -Input/-Output pair of one title.
    assert [n for n in names if "__" in n or n.endswith(("-Input", "-Output"))] == []
    titles = Counter(s.get("title", n) for n, s in DOCUMENT["components"]["schemas"].items())
    assert [t for t, count in titles.items() if count > 1] == []


def test_every_request_body_has_an_example_its_schema_accepts() -> None:
    bodies = 0
    for method, path, operation in OPERATIONS:
        for content_type, media in operation.get("requestBody", {}).get("content", {}).items():
            bodies += 1
            assert "example" in media, (method, path, content_type)
            if content_type != "application/json":
                continue
            schema = {**media["schema"], "components": DOCUMENT["components"]}
            errors = [
                e.message
                for e in jsonschema.Draft202012Validator(schema).iter_errors(media["example"])
            ]
            assert errors == [], (method, path, errors)
    assert bodies > 100
    logged = DOCUMENT["paths"]["/v1/relationships/{relationship_id}/interactions"]["post"]
    assert logged["requestBody"]["content"]["application/json"]["example"]["channel"] == "visit"


def test_every_refusal_is_documented_as_the_problem_it_answers() -> None:
    """Every error status an operation declares is answered as application/problem+json
    (FastAPI's own 422, documented as plain JSON, is replaced by ``responses(…, 422)``)."""
    undocumented = [
        (method.upper(), path, status)
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if status[0] in "45" and "application/problem+json" not in response.get("content", {})
    ]
    assert undocumented == []


def test_the_headers_a_client_relies_on_are_declared() -> None:
    def headers(path: str, method: str, status: str) -> dict[str, Any]:
        found: dict[str, Any] = DOCUMENT["paths"][path][method]["responses"][status].get(
            "headers", {}
        )
        return found

    registered = headers("/v1/relationships", "post", "201")
    assert {"ETag", "Location", "Idempotent-Replayed"} <= set(registered)
    assert {"ETag", "Idempotent-Replayed"} <= set(
        headers("/v1/relationships/{relationship_id}/rename", "post", "200")
    )
    assert headers("/v1/relationships/{relationship_id}", "get", "200")["ETag"]["required"]
    for method, path, operation in OPERATIONS:
        for status in ("429", "503"):
            if status in operation["responses"]:
                assert operation["responses"][status]["headers"]["Retry-After"]["required"], (
                    method,
                    path,
                )


# --- a generated client against the running service -------------------------------------


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The Python package openapi-python-client generates from the published document."""
    folder = tmp_path_factory.mktemp("client")
    document = folder / "openapi.json"
    document.write_text(json.dumps(DOCUMENT), encoding="utf-8")
    config = folder / "config.json"
    # Downloads (a zip, a photo) are bytes to the client.
    binary = ["application/zip", "image/jpeg", "image/png", "image/webp", "application/pdf"]
    config.write_text(
        json.dumps({"content_type_overrides": dict.fromkeys(binary, "application/octet-stream")})
    )
    package = folder / "fullchain_client"
    generator = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(document),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(package),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(generator.parent)},  # its own ruff formats what it writes
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Nothing of the document was left out but the file downloads' other media types.
    left_out = [
        line
        for line in done.stdout.splitlines()
        if line.startswith(("WARNING parsing", "Unable to", "Failure to process"))
        and "/attachments/" not in line
    ]
    assert left_out == [], done.stdout
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("fullchain_client")
    finally:
        sys.path.remove(str(folder))


def test_a_generated_client_registers_reads_and_lists_a_customer(
    services: Services, generated_client: Any
) -> None:
    token = enroll(services, "qian.lin", "Qian Lin 钱琳")
    services.start_workers()
    relationships = importlib.import_module("fullchain_client.api.relationships")
    register = importlib.import_module(f"{relationships.__name__}.register_relationship")
    get = importlib.import_module(f"{relationships.__name__}.get_relationship")
    listed = importlib.import_module(f"{relationships.__name__}.list_relationships")
    models = importlib.import_module("fullchain_client.models")
    with LiveServer(create_app(services)) as server:
        client = generated_client.AuthenticatedClient(base_url=server.url, token=token)
        body = models.RegisterRelationship.from_dict(
            {
                "name": "苏州华芯电子有限公司",
                "kind": "customer",
                "industry": "electronics",
                "region": "East China",
                "branch": "Suzhou",
                "occurred_at": (NOW - timedelta(days=3)).isoformat(),
            }
        )
        answer = register.sync_detailed(client=client, body=body, idempotency_key="client-1")
        assert answer.status_code == 201
        accepted = answer.parsed
        assert isinstance(accepted, models.CommandAccepted)
        assert answer.headers["ETag"] == f'"{accepted.version}"'
        assert answer.headers["Location"] == f"/v1/relationships/{accepted.aggregate_id}"
        again = register.sync_detailed(client=client, body=body, idempotency_key="client-1")
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.parsed.aggregate_id == accepted.aggregate_id

        status = get.sync_detailed(
            accepted.aggregate_id, client=client, min_position=accepted.position
        )
        assert status.status_code == 200
        assert status.parsed.name == "苏州华芯电子有限公司"
        assert status.headers["ETag"] == f'"{status.parsed.version}"'

        page = listed.sync(client=client, branch="Suzhou", min_position=accepted.position)
        assert [item.name for item in page.items] == ["苏州华芯电子有限公司"]

        missing = get.sync_detailed("0b0e5a8e-1111-4a4a-8a8a-000000000001", client=client)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.Problem)
        assert httpx.codes(missing.status_code) == httpx.codes.NOT_FOUND
