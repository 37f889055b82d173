"""Hostile JSON bodies (nested a thousand levels deep, or too large) are a 400 with a message in
the caller's language on every API endpoint, never a 500."""

import json

import pytest
from django.test import override_settings

from diary.api.parsers import MAX_DEPTH, depth_over
from diary.models import DiaryEntry
from tests.conftest import PASSWORD, login

DEEP = "[" * 1000 + "]" * 1000  # 2 KB
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
ENDPOINTS = ["/api/auth/token/", "/api/entries/", "/api/days/", "/api/labs/", "/api/exports/"]


def nested(levels: int, inner=1):
    for _ in range(levels):
        inner = [inner]
    return inner


def post(client, path: str, body: str, **headers):
    return client.post(path, body, content_type="application/json", **headers)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["lists", "objects"])
def test_a_thousand_levels_of_nesting_is_400(world, client, path, body):
    login(client, world.alice)
    response = post(client, path, body)
    assert response.status_code == 400, response.content[:200]
    assert "nested too deeply" in response.json()["detail"]
    assert not DiaryEntry.objects.exists()


def test_the_message_is_in_the_callers_language(world, client):
    anonymous = post(client, "/api/auth/token/", DEEP, HTTP_ACCEPT_LANGUAGE="fr")
    assert anonymous.status_code == 400
    assert "imbriqué" in anonymous.json()["detail"]
    world.alice.language = "fr"
    world.alice.save()
    login(client, world.alice)
    signed_in = post(client, "/api/days/", DEEP)
    assert signed_in.status_code == 400 and "imbriqué" in signed_in.json()["detail"]


def test_the_depth_limit_leaves_room_for_real_requests(world, client):
    """A body at the limit is read (the token endpoint ignores the extra field); one level
    more is refused."""
    body = {"username": "alice", "password": PASSWORD, "extra": nested(MAX_DEPTH - 1)}
    response = post(client, "/api/auth/token/", json.dumps(body))
    assert response.status_code == 200, response.content
    body["extra"] = nested(MAX_DEPTH)
    refused = post(client, "/api/auth/token/", json.dumps(body))
    assert refused.status_code == 400 and "nested too deeply" in refused.json()["detail"]


def test_depth_is_counted_in_lists_and_objects():
    assert not depth_over({"a": [1, {"b": 2}]}, 3)
    assert depth_over({"a": [1, {"b": []}]}, 3)
    assert not depth_over("text", 0)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_larger_than_the_upload_limit_is_400(world, client, path):
    login(client, world.alice)
    body = json.dumps({"note": "x" * 3_000_000})  # above Django's default 2.5 MB
    response = post(client, path, body)
    assert response.status_code == 400
    assert "too large" in response.json()["detail"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_the_size_limit_is_djangos_setting(world, client):
    body = json.dumps({"username": "alice", "password": PASSWORD})
    assert post(client, "/api/auth/token/", body).status_code == 200
    refused = post(client, "/api/auth/token/", json.dumps({**json.loads(body), "x": "y" * 100}))
    assert refused.status_code == 400 and "100" in refused.json()["detail"]


def test_broken_json_is_still_400_with_a_message(world, client):
    response = post(client, "/api/auth/token/", '{"username": "alice",')
    assert response.status_code == 400 and response.json()["detail"]
    assert post(client, "/api/auth/token/", b"\xff\xfe{}").status_code == 400
    assert post(client, "/api/auth/token/", '{"username": NaN}').status_code == 400


def test_the_token_endpoint_still_takes_a_form(world, client):
    response = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["token"]
    url_encoded = client.post(
        "/api/auth/token/",
        f"username=alice&password={PASSWORD}",
        content_type="application/x-www-form-urlencoded",
    )
    assert url_encoded.status_code == 200
