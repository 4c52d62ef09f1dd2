"""schemathesis against the real `firstline run` process: whatever a client sends that the OpenAPI
schema allows (and much it does not), the API answers without a 5xx and as its schema says.

Bounded in time: a few examples per operation, with a tiny embedding model.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.e2e import firstline_environment
from tests.support.fake_bot_api import FakeBotApi
from tests.support.processes import create_token, free_port, start_firstline, stop_firstline

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class RunningApi:
    url: str
    token: str


@pytest.fixture(scope="module")
def running_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    workdir = tmp_path_factory.mktemp("schema")
    port = free_port()
    with FakeBotApi() as telegram:
        # The bundled model: it starts in seconds now that serving needs no PyTorch.
        env = firstline_environment(workdir / "data", telegram, port)
        token = create_token(env, "admin", "schemathesis")
        process = start_firstline(
            env, port, ready=lambda status: status.get("bot") == "ok", log=workdir / "run.log"
        )
        try:
            yield RunningApi(f"http://127.0.0.1:{port}", token)
        finally:
            stop_firstline(process)


# The same cases on every run (a CI verdict must not depend on luck); more, and new ones, with
# FIRSTLINE_TEST_SCHEMA_EXAMPLES=200 FIRSTLINE_TEST_SCHEMA_RANDOM=1.
EXAMPLES_PER_OPERATION = int(os.environ.get("FIRSTLINE_TEST_SCHEMA_EXAMPLES", "20"))
DERANDOMIZE = not os.environ.get("FIRSTLINE_TEST_SCHEMA_RANDOM")
# Revoking tokens would revoke the test's own token: every later call would be a (correct) 401.
SKIPPED = {("DELETE", "/api/v1/tokens/{token_id}")}


def test_the_api_answers_as_its_schema_says(running_api: RunningApi) -> None:
    api_schema = schemathesis.openapi.from_url(f"{running_api.url}/openapi.json")
    failures: list[str] = []
    tested = 0
    for loaded in api_schema.get_all_operations():
        operation = loaded.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=DERANDOMIZE,
        )
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=running_api.url,
                headers={"Authorization": f"Bearer {running_api.token}"},
                checks=CHECKS,
            )

        tested += 1
        try:
            conforms()
        except Exception as failure:
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")
    assert tested >= 30
    assert failures == [], "\n\n".join(failures)
