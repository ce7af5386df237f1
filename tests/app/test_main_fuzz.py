"""Fuzzing: schemathesis sends what the OpenAPI allows (and bends it); the service answers every
request without a server error, only with status codes its OpenAPI lists, and with bodies of
the content type and schema it documents for that status.

20 examples per operation, on SQLite and on PostgreSQL, with an admin key (the key that reaches
every endpoint). Two students and a session exist, so small ids sometimes hit real rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.core.config import Settings
from app.main import create_app
from models.embedder import FaceEmbedder
from tests.support.settings import ADMIN_KEY

EXAMPLES = 20  # per operation: 600 requests per database, ~15 s each (60: 40 s, all passed)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def started_app(settings: Settings, embedder: FaceEmbedder) -> Iterator[FastAPI]:
    """The app with its start-up done (model, database); schemathesis then calls it directly."""
    app = create_app(settings, embedder)
    with TestClient(app, headers={"X-API-Key": ADMIN_KEY}) as client:
        for number in (1, 2):
            student = {"external_id": f"S{number}", "name": f"Student {number}"}
            assert client.post("/api/v1/students", json=student).status_code == 201
        session = {"name": "Art", "starts_at": "2026-01-01T09:00Z", "ends_at": "2026-01-01T10:00Z"}
        assert client.post("/api/v1/sessions", json=session).status_code == 201
        yield app


def _fuzz(operation: APIOperation, failures: list[str]) -> int:
    """Up to EXAMPLES requests to `operation` (how many were sent); what fails a check is added
    to `failures`."""
    sent = 0

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,  # no examples kept between runs: every machine runs the same ones
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy())
    def fuzz(case: schemathesis.Case) -> None:
        nonlocal sent
        sent += 1
        try:
            case.call_and_validate(headers={"X-API-Key": ADMIN_KEY}, checks=CHECKS)
        except FailureGroup as failure:  # the checks that failed, with the request to replay
            failures.append(f"{operation.label}: {failure}"[:1500])

    fuzz()
    return sent


@pytest.mark.slow
def test_every_answer_is_as_documented(started_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", started_app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17

    sent = sum(_fuzz(operation, failures) for operation in operations)
    print(f"{sent} requests to {len(operations)} operations")
    assert sent > 10 * len(operations)  # operations without parameters have few variants
    assert failures == [], "\n\n".join(failures[:10])
