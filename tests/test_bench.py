"""The parts of the benchmarks that can be wrong quietly: the page-weight asset finder and the
baseline view. (The benchmarks themselves never run in the tests.)"""

from rest_framework.authtoken.models import Token

from bench.page_weight import css_urls, html_assets, is_local, manifest_urls, worker_urls

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
    token = Token.objects.create(user=world.alice)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    assert client.get("/bench/ping", **auth).status_code == 404
    settings.BENCH_BASELINE_VIEW = True
    assert client.get("/bench/ping", **auth).status_code == 204
    assert client.get("/bench/ping").status_code in (401, 403)
