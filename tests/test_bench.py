"""The parts of the benchmarks that can be wrong quietly: the page-weight asset finder, the
baseline view and the day-save clients' bodies. (The benchmarks themselves never run in the
tests: no server, no timing.)"""

from bench.__main__ import SCALES
from bench.diary_save import DayClient, families
from bench.page_weight import css_urls, html_assets, is_local, manifest_urls, worker_urls
from diary.models import DiaryEntry, DoseAdministration, GrowthMeasurement, SteroidDose
from diary.tokens import issue_token

PAGE = """<!doctype html><html><head>
<link rel="stylesheet" href="/static/app.1.css">
<link rel="manifest" href="/manifest.webmanifest">
<link rel="icon" href="data:image/png;base64,AAAA">
<link rel="canonical" href="https://example.org/page">
<link rel="preconnect" href="https://fonts.example.com">
<link rel="Shortcut Icon" href="/favicon.ico">
<script src="https://cdn.example.com/lib.js" defer></script>
<script>var inline = "/not/fetched.js";</script>
<style>body { background: url('/static/bg.png') }</style>
</head><body>
<a href="/children/1/diary/days/">Past days</a>
<img src="/static/logo.svg" srcset="/static/logo-2x.png 2x, /static/logo-3x.png 3x" alt="">
<div style="background-image: url(/static/inline.png)"></div>
<form action="/save/"><input type="image" src="/static/go.png" alt="go"></form>
</body></html>"""


def test_html_assets_are_what_a_browser_downloads_on_load():
    assert html_assets(PAGE) == [
        "/static/app.1.css",
        "/manifest.webmanifest",
        "/favicon.ico",
        "https://cdn.example.com/lib.js",
        "/static/bg.png",
        "/static/logo.svg",
        "/static/logo-2x.png",
        "/static/logo-3x.png",
        "/static/inline.png",
        "/static/go.png",
    ]


def test_css_urls_and_imports_without_data_uris():
    css = """@import "base.css"; @import url(print.css);
    @font-face { src: url("fonts/a.woff2") format("woff2"), url(data:font/woff2;base64,AA) }
    .x { background: url( 'img/x.svg' ) }"""
    assert css_urls(css) == ["base.css", "print.css", "fonts/a.woff2", "img/x.svg"]


def test_manifest_icons_and_service_worker_precache():
    assert manifest_urls('{"icons": [{"src": "/static/i.svg"}, {"sizes": "any"}]}') == [
        "/static/i.svg"
    ]
    assert manifest_urls("not json") == []
    worker = 'const CACHE = "ags-1";\nconst ASSETS = ["/static/a.css", "/static/b.js", "/m"];'
    assert worker_urls(worker) == ["/static/a.css", "/static/b.js", "/m"]


def test_other_hosts_are_any_absolute_url_elsewhere():
    assert is_local("/static/a.css", "127.0.0.1:8111")
    assert is_local("http://127.0.0.1:8111/static/a.css", "127.0.0.1:8111")
    assert not is_local("http://127.0.0.1:8112/a.css", "127.0.0.1:8111")
    assert not is_local("//cdn.example.com/a.js", "127.0.0.1:8111")


def test_bench_ping_only_when_switched_on(world, client, settings):
    _stored, token = issue_token(world.alice, "bench")
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    assert client.get("/bench/ping", **auth).status_code == 404
    settings.BENCH_BASELINE_VIEW = True
    assert client.get("/bench/ping", **auth).status_code == 204
    assert client.get("/bench/ping").status_code in (401, 403)


class DjangoConnection:
    """The two calls the bench clients make on http.client, answered by Django's test client."""

    def __init__(self, client):
        self.client = client

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers)
        content_type = headers.pop("Content-Type", "application/octet-stream")
        self.answer = self.client.generic(
            method, path, body or b"", content_type=content_type, headers=headers
        )

    def getresponse(self):
        return self

    @property
    def status(self):
        return self.answer.status_code

    def read(self):
        return self.answer.content


def test_day_save_sends_whole_days_and_corrections_the_api_accepts(db, client):
    """Two phones (two and three dose slots a day) through the smoke scale's requests and more:
    every new day is 201, every correction 200, and every kind of row is stored."""
    smoke = SCALES["smoke"]
    rounds = 4 * (smoke["save_warmup"] + smoke["save_requests"])
    phones = [
        DayClient("http://127.0.0.1:1", family, seed=i) for i, family in enumerate(families(3))
    ]
    kinds = []
    for phone in (phones[0], phones[2]):
        phone.connection = DjangoConnection(client)
        kinds += [phone.save()[0] for _ in range(rounds)]
        assert phone.failures == []
    corrections = kinds.count("correction")
    assert kinds[:6] == ["day"] * 4 + ["correction", "day"] and corrections == 2 * (rounds // 5)
    assert DiaryEntry.objects.count() == kinds.count("day")
    assert DiaryEntry.objects.filter(version=2).count() == corrections
    slots = DoseAdministration.objects.filter(child=phones[2].family["child"])
    assert set(slots.values_list("slot", flat=True)) == {"morning", "afternoon", "evening"}
    assert DoseAdministration.objects.count() == 5 * DiaryEntry.objects.count() // 2
    doses = DoseAdministration.objects.filter(version=2)
    assert doses.count() == corrections
    assert {"given", "missed", "different"} <= set(
        DoseAdministration.objects.values_list("status", flat=True)
    )
    assert SteroidDose.objects.exists() and GrowthMeasurement.objects.exists()


def test_the_bench_database_is_never_the_apps(tmp_path):
    from bench.database import bench_database_url

    assert bench_database_url({"VAR_DIR": str(tmp_path)}) == f"sqlite:///{tmp_path}/bench.sqlite3"
    pg = "postgres://postgres@127.0.0.1:5432/ags"
    assert bench_database_url({"DATABASE_URL": pg}) == pg + "_bench"
    assert (
        bench_database_url({"DATABASE_URL": "sqlite:////srv/ags/db.sqlite3"})
        == "sqlite:////srv/ags/db-bench.sqlite3"
    )
    own = "postgres://bench@10.0.0.2/figures"
    assert bench_database_url({"DATABASE_URL": pg, "BENCH_DATABASE_URL": own}) == own


def test_the_chart_childs_visits_and_sds_are_added_once(world):
    """The chart scenario draws the AGS Scale and growth SDS panels: its child gets visits and
    the SDS the benchmarks' loader leaves out, once."""
    from datetime import timedelta
    from decimal import Decimal

    from bench.chart import ensure_visits
    from diary.models import VisitAssessment
    from outcomes import pages
    from tests.conftest import prescribe

    amy = world.amy
    today = amy.today()
    prescribe(amy, start=today - timedelta(days=300))
    for days, kg, cm in ((400, "17.0", "104.0"), (100, "18.5", "110.2")):
        GrowthMeasurement.objects.create(
            child=amy, date=today - timedelta(days=days), weight_kg=Decimal(kg), height_cm=cm
        )
    assert not GrowthMeasurement.objects.filter(child=amy, height_sds__isnull=False).exists()
    added = ensure_visits(amy)
    visits = VisitAssessment.objects.filter(child=amy).count()
    assert visits >= 3 and added == visits + 2
    for row in GrowthMeasurement.objects.filter(child=amy):
        assert row.growth_reference == "uk-who" and row.height_sds is not None
        assert row.weight_sds is not None and row.bmi_sds is not None
    keys = [p.key for p in pages.child_outcome(amy).labs]
    assert "ags_scale" in keys and "growth_sds" in keys
    assert ensure_visits(amy) == 0
