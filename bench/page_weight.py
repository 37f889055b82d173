"""Diary page weight: the bytes a parent's phone downloads for `/children/ID/diary/` on a first
visit, compressed as the production server sends them, and the requests to other hosts.

A caregiver signs in through the login form; the page is fetched with its stylesheets, scripts,
images, icons and manifest (and what those name: CSS url() and @import, the manifest's icons,
the service worker the scripts register and what it precaches), each with
`Accept-Encoding: gzip, br`. Bodies are counted as received, before any decompression.
"""

import gzip
import http.client
import json
import re
import secrets
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

TARGET_BYTES = 40 * 1024
ACCEPT = {"Accept-Encoding": "gzip, br", "User-Agent": "bench (phone)"}
# The rel values of <link> that make a browser download something on load.
LOADED_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "manifest", "preload"}
LOADED_RELS |= {"modulepreload", "mask-icon"}


class AssetParser(HTMLParser):
    """The URLs an HTML page makes a browser download on load (not links it navigates to)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attr = {name: value or "" for name, value in attrs}
        if tag == "link" and LOADED_RELS & set(attr.get("rel", "").lower().split()):
            self._add(attr.get("href"))
        elif tag in ("script", "img", "iframe", "embed", "audio", "video", "track"):
            self._add(attr.get("src"))
            self._add(attr.get("poster"))
        elif tag == "source" or (tag == "input" and attr.get("type", "").lower() == "image"):
            self._add(attr.get("src"))
        elif tag == "object":
            self._add(attr.get("data"))
        if tag in ("img", "source") and attr.get("srcset"):
            for candidate in attr["srcset"].split(","):
                self._add(candidate.strip().split(" ")[0])
        if attr.get("style"):
            self.urls.extend(css_urls(attr["style"]))

    def handle_data(self, data):
        if self.lasttag == "style":
            self.urls.extend(css_urls(data))

    def _add(self, url):
        if url and not url.startswith(("data:", "#", "javascript:")):
            self.urls.append(url)


def html_assets(html: str) -> list[str]:
    parser = AssetParser()
    parser.feed(html)
    parser.close()
    return parser.urls


CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""")


def css_urls(css: str) -> list[str]:
    """url(...) and @import "..." references of a stylesheet, data: URIs left out."""
    found = []
    for match in CSS_URL.finditer(css):
        url = (match.group(2) or match.group(4) or "").strip()
        if url and not url.startswith(("data:", "#")):
            found.append(url)
    return found


SW_REGISTER = re.compile(r"""serviceWorker\.register\(\s*['"]([^'"]+)['"]""")
SW_ASSETS = re.compile(r"""const\s+ASSETS\s*=\s*\[([^\]]*)\]""")


def script_urls(js: str) -> list[str]:
    """The service worker a script registers (the browser fetches it on the first visit)."""
    return SW_REGISTER.findall(js)


def worker_urls(js: str) -> list[str]:
    """What a service worker precaches on install (its ASSETS list)."""
    match = SW_ASSETS.search(js)
    return re.findall(r"""['"]([^'"]+)['"]""", match.group(1)) if match else []


def manifest_urls(text: str) -> list[str]:
    try:
        manifest = json.loads(text)
    except ValueError:
        return []
    return [icon["src"] for icon in manifest.get("icons", []) if icon.get("src")]


class Browser:
    """Just enough of one: cookies, a CSRF form post, and byte counting."""

    def __init__(self, base: str):
        self.base = base
        self.origin = urlsplit(base).netloc
        self.cookies: dict[str, str] = {}

    def fetch(self, url: str, method="GET", form=None, headers=None):
        from bench.server import PROXY_HEADERS

        parts = urlsplit(urljoin(self.base, url))
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        sent = {**ACCEPT, **PROXY_HEADERS, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()  # http.client does not decompress: these are the wire bytes
        connection.close()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response, data

    def sign_in(self, username: str, password: str) -> None:
        _response, page = self.fetch("/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        response, _data = self.fetch(
            "/accounts/login/",
            method="POST",
            form={"csrfmiddlewaretoken": token, "username": username, "password": password},
            # Behind TLS Django checks the Referer of a form post against the host.
            headers={"Referer": f"https://{self.origin}/accounts/login/"},
        )
        if response.status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in failed: {response.status}")


def is_local(url: str, origin: str) -> bool:
    netloc = urlsplit(url).netloc
    return not netloc or netloc == origin


def page_weight(browser: Browser, path: str) -> dict:
    """Fetch PATH and everything it loads; the bytes per URL and the other hosts named."""
    response, html = browser.fetch(path)
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status}")
    fetched = [_row(path, response, html)]
    pending = [urljoin(path, u) for u in html_assets(html.decode())]
    seen, foreign = {path}, []
    while pending:
        url = pending.pop(0)
        if url in seen:
            continue
        seen.add(url)
        if not is_local(url, browser.origin):
            foreign.append(url)
            continue
        response, body = browser.fetch(url)
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status}")
        fetched.append(_row(url, response, body))
        kind = response.getheader("Content-Type", "").split(";")[0]
        text = _decoded(response, body)
        if kind == "text/css":
            found = css_urls(text)
        elif kind in ("application/javascript", "text/javascript"):
            found = script_urls(text) + (worker_urls(text) if url.endswith("sw.js") else [])
        elif kind in ("application/manifest+json", "application/json"):
            found = manifest_urls(text)
        else:
            found = []
        pending.extend(urljoin(url, u) for u in found)
    return {"requests": fetched, "foreign": foreign, "html": html}


def _row(url: str, response, body: bytes) -> dict:
    return {
        "url": url,
        "bytes": len(body),
        "content_length": response.getheader("Content-Length"),
        "encoding": response.getheader("Content-Encoding") or "identity",
        "type": response.getheader("Content-Type", "").split(";")[0],
        "cache": response.getheader("Cache-Control") or "",
    }


def _decoded(response, body: bytes) -> str:
    encoding = (response.getheader("Content-Encoding") or "").lower()
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "br":
        import brotli

        body = brotli.decompress(body)
    return body.decode("utf-8", errors="replace")


def parent_with_history():
    """A caregiver of the first bench cohort child (3 years of entries), with a fresh password."""
    from diary.models import CareLink, Child, User

    child = Child.objects.filter(site__code="bench").order_by("pk").first()
    user, _ = User.objects.get_or_create(username="bench-page-parent")
    password = secrets.token_urlsafe(16)
    user.set_password(password)
    user.save()
    CareLink.objects.get_or_create(caregiver=user, child=child, defaults={"relationship": "father"})
    return child, user.username, password


def scenario_page(scale: dict) -> dict:
    from bench.server import base_url

    child, username, password = parent_with_history()
    browser = Browser(base_url())
    browser.sign_in(username, password)
    weight = page_weight(browser, f"/children/{child.pk}/diary/")
    rows = weight["requests"]
    total = sum(r["bytes"] for r in rows)
    # On a later visit the immutable, far-future assets come from the phone's cache.
    repeat = sum(r["bytes"] for r in rows if "immutable" not in r["cache"])
    page = rows[0]
    # What a compressing proxy in front would make of the page itself, for the notes.
    page_gzip = len(gzip.compress(weight["html"])) if page["encoding"] == "identity" else None
    biggest = [
        f"{_short(r['url'])} {r['bytes'] / 1024:.1f} KB {r['encoding']}"
        for r in sorted(rows, key=lambda r: -r["bytes"])[:3]
    ]
    return {
        "scenario": "diary page",
        "size": f"{len(rows)} requests, first visit of a signed-in parent",
        "figure_s": None,
        "figure_text": f"{total / 1024:.1f} KB, {len(weight['foreign'])} other hosts",
        "baseline": "—",
        "baseline_s": None,
        "baseline_text": "—",
        "ratio": None,
        "target": "≤ 40 KB, 0 requests to other hosts",
        "met": total <= TARGET_BYTES and not weight["foreign"],
        "bytes": total,
        "repeat_visit_bytes": repeat,
        "foreign": weight["foreign"],
        "requests": rows,
        "notes": f"largest: {', '.join(biggest)}; repeat visit {repeat / 1024:.1f} KB"
        + (
            f"; the page is sent uncompressed ({page_gzip / 1024:.1f} KB gzipped)"
            if page_gzip
            else ""
        ),
    }


def _short(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1] or urlsplit(url).path
