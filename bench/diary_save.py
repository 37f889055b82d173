"""Diary saves under concurrent parents, beside a trivial authenticated view.

`diary save`: `POST /api/entries/`, the symptoms alone. `day save`: `POST /api/days/`, the whole
day in one request (the entry, every prescribed dose slot, sometimes a steroid dose or a weight).

Each client is a caregiver with a token and a child of their own (on baricitinib, two or three
slots a day), on one keep-alive-less connection (gunicorn's sync workers close after each
response). It saves distinct days going back from yesterday, and after every fourth save corrects
the day it just saved, naming the versions (a second caregiver's correction). The baseline,
`GET /bench/ping` with the same token authentication, is measured before and after the saves and
pooled, so drift on a shared machine shows in both.
"""

import http.client
import json
import os
import random
import statistics
import threading
import time
import uuid
from datetime import date, timedelta
from urllib.parse import urlsplit

SITE = "bench-save"
RESAVE_EVERY = 4  # a correction naming the version after every 4th save


def _percentile(values: list[float], p: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def families(count: int) -> list[dict]:
    """COUNT caregivers, each linked to a child of site bench-save, with a token; each child on
    baricitinib since birth (every third in three slots a day, the others morning and evening).
    The children's previous bench days are removed so that every run saves new days."""
    from django.db import transaction

    from bench.cohort import GENERATED
    from diary.models import CareLink, Child, Prescription, Site, User
    from diary.tokens import issue_token

    born = date.today() - timedelta(days=6 * 365)
    out = []
    with transaction.atomic():
        site, _ = Site.objects.get_or_create(
            code=SITE, defaults={"name": "Benchmark saves", "country": "GB"}
        )
        for i in range(1, count + 1):
            child, _ = Child.objects.get_or_create(
                site=site,
                reference=f"S-{i:03d}",
                defaults={
                    "first_name": "Save",
                    "last_name": f"Bench{i}",
                    "date_of_birth": born,
                    "sex": "F",
                    "diagnosis": "AGS2",
                    "country": "GB",
                    "timezone": "Europe/London",
                },
            )
            user, created = User.objects.get_or_create(username=f"bench-parent-{i:03d}")
            if created:
                user.set_unusable_password()
                user.save()
            CareLink.objects.get_or_create(
                caregiver=user, child=child, defaults={"relationship": "mother"}
            )
            user.auth_token_set.all().delete()  # the previous run's token
            _stored, token = issue_token(user, "benchmark")
            prescription, _ = Prescription.objects.get_or_create(
                child=child,
                start_date=child.date_of_birth,
                defaults={
                    "drug": "baricitinib",
                    "morning_mg": 2,
                    "afternoon_mg": 1 if i % 3 == 0 else 0,
                    "evening_mg": 2,
                    "reason": "initial",
                },
            )
            slots = [slot for slot, _mg in prescription.slots]
            out.append({"child": child, "token": token, "slots": slots})
        children = [f["child"].pk for f in out]
        for model in GENERATED:  # the tables of a day: entries, doses, steroids, growth
            model.objects.filter(child_id__in=children).delete()
            model.history.model.objects.filter(child_id__in=children).delete()
    return out


class Client(threading.Thread):
    """One parent's phone saving the symptoms (`POST /api/entries/`, a PATCH to correct): its
    requests, one after another, each timed."""

    KINDS = ("post", "patch")  # a new day's save, a correction

    def __init__(self, url: str, family: dict, seed: int):
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.family = family
        self.rng = random.Random(seed)
        self.items = [(item.key, item.max) for item in family["child"].get_instrument().items]
        self.day = family["child"].today()
        self.saved = 0
        self.last = None  # the latest save as stored (ids and versions), for the correction
        self.plan: list[tuple[str, int, threading.Barrier]] = []
        self.timings: dict[str, list[float]] = {kind: [] for kind in ("ping", *self.KINDS)}
        self.failures: list[str] = []

    def _request(self, method: str, path: str, body: dict | None, expected: int) -> dict | None:
        from bench.server import PROXY_HEADERS

        headers = {"Authorization": f"Token {self.family['token']}", **PROXY_HEADERS}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
        if response.status != expected:
            self.failures.append(f"{method} {path}: {response.status} {data[:200]!r}")
            return None
        self._elapsed = elapsed
        return json.loads(data) if data else {}

    def ping(self) -> float:
        self._request("GET", "/bench/ping", None, 204)
        return self._elapsed

    def save(self) -> tuple[str, float]:
        """The next request: a new day, or after every fourth a correction of the last one."""
        new, correction = self.KINDS
        if self.last and self.saved % RESAVE_EVERY == 0:
            row = self.correct(self.last)
            self.last = None
            return correction, self._elapsed if row else 0.0
        self.day -= timedelta(days=1)
        row = self.save_new()
        self.saved += 1
        self.last = row
        return new, self._elapsed if row else 0.0

    def answers(self) -> dict:
        """A day's symptoms: all the answers, sometimes a temperature, an illness or a note."""
        answers = {
            "id": str(uuid.uuid4()),
            "scores": {key: min(top, int(self.rng.expovariate(1.5))) for key, top in self.items},
            "no_symptoms": False,
            "illness": self.rng.random() < 0.1,
        }
        if self.rng.random() < 0.2:
            answers["max_temperature"] = f"{self.rng.uniform(36.5, 39.5):.1f}"
        if self.rng.random() < 0.1:
            answers["note"] = "Slept badly, more irritable after the evening dose."
        return answers

    def save_new(self) -> dict | None:
        body = {"child": self.family["child"].pk, "date": self.day.isoformat(), **self.answers()}
        return self._request("POST", "/api/entries/", body, 201)

    def correct(self, row: dict) -> dict | None:
        key, top = self.rng.choice(self.items)
        body = {"version": row["version"], "scores": {key: self.rng.randint(0, top)}}
        return self._request("PATCH", f"/api/entries/{row['id']}/", body, 200)

    def run(self):
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            for phase, count, barrier in self.plan:
                barrier.wait()
                for _ in range(count):
                    if phase.startswith("ping"):
                        latency = self.ping()
                        if not phase.endswith("warm"):
                            self.timings["ping"].append(latency)
                    else:
                        kind, latency = self.save()
                        if not phase.endswith("warm") and latency:
                            self.timings[kind].append(latency)
                barrier.wait()
        except Exception as exc:  # a broken client must not hang the others at the barrier
            self.failures.append(repr(exc))
            for _phase, _count, barrier in self.plan:
                barrier.abort()
        finally:
            self.connection.close()


class DayClient(Client):
    """One parent's phone saving the whole day in one `POST /api/days/`: the entry, every
    prescribed dose slot (mostly given, sometimes missed or a different amount), a steroid dose
    on some days and a weight on a few; the correction sends the day again with the versions
    returned and other answers (200)."""

    KINDS = ("day", "correction")

    def dose(self, slot: str) -> dict:
        dose = {"id": str(uuid.uuid4()), "drug": "baricitinib", "slot": slot, "status": "given"}
        draw = self.rng.random()
        if draw < 0.05:
            dose["status"] = "missed"
        elif draw < 0.1:
            dose.update(status="different", given_mg="1")
        return dose

    def save_new(self) -> dict | None:
        body = {
            "child": self.family["child"].pk,
            "date": self.day.isoformat(),
            "entry": self.answers(),
            "doses": [self.dose(slot) for slot in self.family["slots"]],
            "steroids": [],
            "growth": None,
        }
        if self.rng.random() < 0.3:
            body["steroids"].append({"id": str(uuid.uuid4()), "drug": "prednisolone", "mg": "5"})
        if self.rng.random() < 0.15:
            weight = f"{self.rng.uniform(15, 25):.2f}"
            body["growth"] = {"id": str(uuid.uuid4()), "weight_kg": weight}
        return self._request("POST", "/api/days/", body, 201)

    def correct(self, stored: dict) -> dict | None:
        """The stored day with one answer and one dose changed (and the weight, if any); the
        steroid doses, left out, stay as they are."""
        fields = (
            "id",
            "version",
            "scores",
            "no_symptoms",
            "max_temperature",
            "illness",
            "zoster",
            "note",
        )
        entry = {field: stored["entry"][field] for field in fields}
        key, top = self.rng.choice(self.items)
        entry["scores"] = {**entry["scores"], key: (entry["scores"].get(key, 0) + 1) % (top + 1)}
        fields = ("id", "version", "drug", "slot", "status", "given_mg")
        doses = [{field: dose[field] for field in fields} for dose in stored["doses"]]
        changed = self.rng.choice(doses)
        changed.update(status="missed" if changed["status"] == "given" else "given", given_mg=None)
        growth = stored["growth"]
        if growth is not None:
            weight = f"{float(growth['weight_kg']) + 0.1:.2f}"
            growth = {"id": growth["id"], "version": growth["version"], "weight_kg": weight}
        body = {
            "child": self.family["child"].pk,
            "date": stored["date"],
            "entry": entry,
            "doses": doses,
            "growth": growth,
        }
        return self._request("POST", "/api/days/", body, 200)


def scenario_save(scale: dict) -> dict:
    return _measure(scale, Client, "diary save", ("POSTs", "PATCH re-saves", "PATCH"))


def scenario_day_save(scale: dict) -> dict:
    labels = ("whole days (201)", "corrections of the day (200)", "correction")
    return _measure(scale, DayClient, "day save", labels)


def _measure(scale: dict, client_class: type[Client], scenario: str, labels: tuple) -> dict:
    """Run CLIENT_CLASS's saves beside the ping baseline; the figure is the new days' saves.
    LABELS name the new saves, the corrections and, briefly, the corrections' p95."""
    from bench.server import WORKERS, base_url

    clients, requests, warm = scale["save_clients"], scale["save_requests"], scale["save_warmup"]
    url = base_url()
    load_before = os.getloadavg()[0]
    crowd = [client_class(url, family, seed=i) for i, family in enumerate(families(clients))]
    phases = [
        ("ping-warm", warm),
        ("save-warm", warm),
        ("ping-a", requests),
        ("save", requests),
        ("ping-b", requests),
    ]
    # One barrier per phase edge; the harness thread joins each to time the phase's wall clock.
    barriers = [threading.Barrier(clients + 1) for _ in phases]
    for client in crowd:
        client.plan = [(name, count, barriers[i]) for i, (name, count) in enumerate(phases)]
        client.start()
    walls = {}
    try:
        for (name, _count), barrier in zip(phases, barriers, strict=True):
            barrier.wait()
            started = time.perf_counter()
            barrier.wait()
            walls[name] = time.perf_counter() - started
    except threading.BrokenBarrierError:
        pass  # a client failed: its reason is reported below
    for client in crowd:
        client.join()
    failures = [f for client in crowd for f in client.failures]
    if failures:
        raise RuntimeError(f"{scenario}: {len(failures)} failed requests, e.g. {failures[0]}")

    new, correction = client_class.KINDS
    posts = [t for c in crowd for t in c.timings[new]]
    patches = [t for c in crowd for t in c.timings[correction]]
    pings = [t for c in crowd for t in c.timings["ping"]]
    save_rate = (len(posts) + len(patches)) / walls["save"]
    ping_rate = len(pings) / (walls["ping-a"] + walls["ping-b"])
    p50, p95 = _percentile(posts, 50), _percentile(posts, 95)
    b50, b95 = _percentile(pings, 50), _percentile(pings, 95)
    patch95 = _percentile(patches, 95) if patches else None
    ratio = p95 / b95
    ms = 1000
    return {
        "scenario": scenario,
        "size": f"{clients} clients × {requests} saves (gunicorn {WORKERS} workers)",
        "figure_s": round(p95, 4),
        "figure_text": f"p50 {p50 * ms:.0f} ms, p95 {p95 * ms:.0f} ms, {save_rate:.0f} req/s",
        "baseline": "GET /bench/ping (token-authenticated, 204) on the same server",
        "baseline_s": round(b95, 4),
        "baseline_text": f"p50 {b50 * ms:.0f} ms, p95 {b95 * ms:.0f} ms, {ping_rate:.0f} req/s",
        "ratio": round(ratio, 2),
        "target": "p95 ≤ 3× baseline",
        "met": ratio <= 3,
        f"{new}_p50_s": round(p50, 4),
        f"{new}_p95_s": round(p95, 4),
        f"{correction}_p95_s": round(patch95, 4) if patch95 is not None else None,
        "saves_per_s": round(save_rate, 1),
        "baseline_p50_s": round(b50, 4),
        "baseline_p95_s": round(b95, 4),
        "baseline_per_s": round(ping_rate, 1),
        "requests": {new: len(posts), correction: len(patches), "ping": len(pings)},
        "notes": (
            f"{len(posts)} {labels[0]} + {len(patches)} {labels[1]}"
            + (f" ({labels[2]} p95 {patch95 * ms:.0f} ms)" if patch95 is not None else "")
            + f", {len(pings)} pings; p50 ratio {p50 / b50:.1f}; clients and server share the "
            f"machine's {os.cpu_count()} cores (load average {load_before:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after)"
        ),
    }
