"""The OpenAPI schema and the browsable docs, served with local assets only."""

import re

import yaml

from tests.conftest import login


def test_schema_describes_the_api(world, client):
    login(client, world.carol)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/api/children/" in schema["paths"] and "/api/children/{id}/" in schema["paths"]
    assert "/api/auth/token/" in schema["paths"]


def test_docs_page_loads_no_external_assets(world, client):
    login(client, world.carol)
    page = client.get("/api/docs/").content.decode()
    assert "swagger" in page.lower()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(src.startswith("/") for src in sources), sources
