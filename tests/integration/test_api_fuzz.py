"""Request validation fuzzed against the OpenAPI schema (hypothesis).

For every operation the schema lists, hypothesis sends path parameters, query strings and
bodies both shaped like the schema and not at all; whatever comes in: never a 500, never a
stack trace, and a request refused for its shape (4xx other than 401/403) writes nothing —
not an event, not a credential. A 403 writes exactly its denial.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api_support import World, build_world, event_count

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELD_VALUES = st.one_of(
    JSON,
    st.uuids().map(str),
    st.sampled_from(
        ["CAM-IN", "crime_prevention", "flagrance", "2026-11-21T22:00:00", "operator-ici", ""]
    ),
    st.lists(st.floats(min_value=-1, max_value=2), min_size=0, max_size=6),
)
PATH_VALUES = st.one_of(
    st.uuids().map(str),
    st.text(min_size=1, max_size=40).filter(lambda t: "/" not in t),
    st.sampled_from(["CAM-IN", "CAM-OUT", "..", "%2e%2e", "0" * 300]),
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("api-fuzz"))
    with built.client:
        yield built
    built.system.close()


def operations(world: World) -> list[tuple[str, str, dict[str, Any]]]:
    schema = world.client.get("/openapi.json").json()
    return [
        (method.upper(), path, spec)
        for path, item in schema["paths"].items()
        for method, spec in item.items()
    ]


def body_for(spec: dict[str, Any], world: World) -> st.SearchStrategy[Any]:
    ref = spec.get("requestBody", {}).get("content", {}).get("application/json", {})
    name = ref.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
    if not name:
        return st.none()
    props = world.client.get("/openapi.json").json()["components"]["schemas"][name]
    fields = list(props.get("properties", {}))
    shaped = st.fixed_dictionaries({}, optional={f: FIELD_VALUES for f in fields})
    return st.one_of(shaped, JSON)


def credentials_state(world: World) -> str:
    db = world.context.credentials._db
    return json.dumps(
        db.execute("SELECT username, hash, failures FROM accounts ORDER BY 1").fetchall()
    )


def test_fuzzed_requests_never_fail_or_write_when_rejected(world: World) -> None:
    ops = operations(world)
    assert len(ops) >= 15

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def one_request(data: st.DataObject) -> None:
        method, path, spec = data.draw(st.sampled_from(ops))
        url = path
        for param in spec.get("parameters", []):
            if param["in"] == "path":
                url = url.replace("{" + param["name"] + "}", quote(data.draw(PATH_VALUES), safe=""))
        query = {
            p["name"]: str(data.draw(FIELD_VALUES))
            for p in spec.get("parameters", [])
            if p["in"] == "query" and data.draw(st.booleans())
        }
        role = data.draw(st.sampled_from(["operator", "supervisor", "officer", "admin"]))
        body = data.draw(body_for(spec, world))
        events, secrets = event_count(world.system), credentials_state(world)
        response = world.client.request(
            method, url, params=query, headers=world.auth(role), json=body
        )
        text = response.text
        assert response.status_code < 500 or response.status_code == 503, (method, url, text)
        assert "Traceback" not in text and 'File "' not in text
        if response.status_code in (400, 404, 405, 409, 410, 416, 422):
            assert event_count(world.system) == events, (method, url, body, text)
        if response.status_code == 403:
            assert event_count(world.system) == events + 1
        if path != "/auth/login" and response.status_code >= 400:
            assert credentials_state(world) == secrets

    one_request()
