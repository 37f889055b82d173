"""GET /healthz: database and broker status as JSON, 503 when one is down."""

from django.db import OperationalError


def test_healthy(db, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["broker"] == "ok"


def test_broker_down_gives_503(db, client, settings):
    # Nothing listens on port 1: a real refused connection.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "broker": "unavailable",
        "version": response.json()["version"],
    }


def test_database_down_gives_503(db, client, monkeypatch):
    # The shared test database cannot be stopped mid-run: the view gets a failing one instead.
    class Unreachable:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("config.views.connection", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


def test_favicon_is_the_app_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith(".svg")
    assert "diary/icon" in response["Location"]


def test_pages_name_their_icon(db, client):
    assert b'rel="icon"' in client.get("/accounts/login/").content


def test_the_embedded_broker_names_its_host(caplog, settings):
    """kombu warned "No hostname was supplied" on every connection to `filesystem://`."""
    from kombu import Connection

    with caplog.at_level("WARNING", logger="kombu.connection"):
        Connection(settings.CELERY_BROKER_URL).info()
    assert "No hostname" not in caplog.text
