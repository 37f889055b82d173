"""Per child and phase means computed by the database, for cohorts: one query for the sums,
whatever the number of children and days, so that data access does not dominate the statistics.

Each child's days are cut into segments at the phase edges and at the weight measurements, so
that within a segment the phases are the same and so is the weight. The database counts the
recorded days and sums the scores, and the steroid doses of recorded days per drug, per segment.
The prednisone equivalence, the division by the weight and the sums per phase are done here,
over a few dozen segments per child instead of a row per day."""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise

from django.db import connection, transaction
from django.db.models import FloatField
from django.db.models.functions import Cast

from diary.models import GrowthMeasurement
from outcomes.guideline import PREDNISONE_FACTOR


@dataclass
class _Child:
    """A child's phases, weights and segments. Segment k (1-based, as PostgreSQL's width_bucket
    counts) holds the days from bounds[k - 1] to bounds[k] - 1; segments[k] gives the phases
    it lies in and the weight in force on its days."""

    pk: int
    phases: list[tuple[int, date, date]]
    weights: list[tuple[date, float]] = field(default_factory=list)
    bounds: list[date] = field(default_factory=list)
    segments: list[tuple[tuple[int, ...], float | None]] = field(default_factory=list)

    def plan(self) -> None:
        day = timedelta(days=1)
        edges = {f for _p, f, _l in self.phases} | {last + day for *_, last in self.phases}
        first, end = min(edges), max(edges)
        self.bounds = sorted(edges | {d for d, _kg in self.weights if first < d < end})
        # The weight on the segment's first day or most recently before it, else the first
        # weight (guideline.weight_on); weights change only at bounds, so it holds throughout.
        weights, w = self.weights, 0
        self.segments = [((), None)]
        for start, stop in pairwise(self.bounds):
            while w < len(weights) and weights[w][0] <= start:
                w += 1
            kg = weights[max(w - 1, 0)][1] if weights else None
            inside = tuple(p for p, f, last in self.phases if f <= start and stop - day <= last)
            self.segments.append((inside, kg))

    def segment(self, k: int) -> tuple[date, date]:
        return self.bounds[k - 1], self.bounds[k] - timedelta(days=1)


def _date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value  # SQLite: text


def _weights(ids) -> dict[int, list[tuple[date, float]]]:
    out = defaultdict(list)
    query = (
        GrowthMeasurement.objects.filter(child_id__in=ids, weight_kg__isnull=False)
        .order_by("child_id", "date")
        .values_list("child_id", "date", Cast("weight_kg", FloatField()))
    )
    # Run as SQL: the ORM's per-row conversion would take longer than the query.
    with connection.cursor() as cursor:
        cursor.execute(*query.query.sql_with_params())
        for child_id, day, kg in cursor.fetchall():
            out[child_id].append((_date(day), kg))
    return out


def _postgresql_sums(children: dict[int, _Child]) -> list[tuple]:
    # width_bucket finds each day's segment by binary search in the child's bounds, so the
    # entries and steroid doses are read in index order, child by child (covering indexes, no
    # join on ranges). Days before the first bound or after the last fall in buckets 0 and
    # len(bounds), which phase_means ignores: filtering them by date here would hide from the
    # planner how many rows a child has, and it would then join them by nested loops.
    payload = json.dumps(
        [{"child_id": k, "bounds": [d.isoformat() for d in c.bounds]} for k, c in children.items()]
    )
    sql = """
        SELECT c.child_id, b.bucket, b.days, b.n, b.score, b.drug, b.mg
        FROM json_to_recordset(%s::json) AS c(child_id bigint, bounds date[])
        CROSS JOIN LATERAL (
            SELECT width_bucket(e.date, c.bounds) AS bucket, COUNT(*) AS days,
                   COUNT(e.score) AS n, SUM(e.score) AS score, NULL AS drug, NULL::float8 AS mg
            FROM diary_diaryentry e
            WHERE e.child_id = c.child_id
            GROUP BY 1
            UNION ALL
            SELECT width_bucket(s.date, c.bounds), 0, 0, NULL, s.drug, SUM(s.mg::float8)
            FROM diary_steroiddose s
            JOIN diary_diaryentry e ON e.child_id = s.child_id AND e.date = s.date
            WHERE s.child_id = c.child_id AND e.child_id = c.child_id
            GROUP BY 1, 5
        ) b
    """
    # Compiling this many small per-child plans costs more than it saves.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, [payload])
        return cursor.fetchall()


def _generic_sums(children: dict[int, _Child]) -> list[tuple]:
    # Without width_bucket (SQLite): the segments are joined as date ranges. "1.0 *": SQLite
    # keeps whole-number decimals as integers.
    payload = json.dumps(
        [
            [pk, k, *(d.isoformat() for d in c.segment(k))]
            for pk, c in children.items()
            for k in range(1, len(c.bounds))
        ]
    )
    sql = """
        WITH seg AS (
            SELECT json_extract(value, '$[0]') AS child_id, json_extract(value, '$[1]') AS k,
                   json_extract(value, '$[2]') AS first, json_extract(value, '$[3]') AS last
            FROM json_each(%s)
        )
        SELECT seg.child_id, seg.k, COUNT(*), COUNT(e.score), SUM(e.score), NULL, NULL
        FROM seg JOIN diary_diaryentry e
          ON e.child_id = seg.child_id AND e.date >= seg.first AND e.date <= seg.last
        GROUP BY seg.child_id, seg.k
        UNION ALL
        SELECT seg.child_id, seg.k, 0, 0, NULL, s.drug, SUM(1.0 * s.mg)
        FROM seg JOIN diary_steroiddose s
          ON s.child_id = seg.child_id AND s.date >= seg.first AND s.date <= seg.last
        JOIN diary_diaryentry e ON e.child_id = s.child_id AND e.date = s.date
        GROUP BY seg.child_id, seg.k, s.drug
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload])
        return cursor.fetchall()


def phase_means(intervals: list[tuple]) -> dict[int, dict[int, tuple]]:
    """{child: {phase: (mean daily score, days scored, mean steroid mg/kg/day)}} for INTERVALS of
    (child id, phase, first date, last date), as summaries.summarise() computes them child by
    child; a phase without recorded days is left out. The score mean is None without a scored
    day. The steroid mean is over the recorded days (those with a diary entry), a day without a
    steroid dose counting 0, per kg of the weight on or before the day (the nearest after when
    there is none before); None when the child has no weight."""
    if not intervals:
        return {}
    children: dict[int, _Child] = {}
    for pk, phase, first, last in intervals:
        children.setdefault(int(pk), _Child(int(pk), [])).phases.append((phase, first, last))
    for pk, weights in _weights(list(children)).items():
        children[pk].weights = weights
    for child in children.values():
        child.plan()
    sums = (_postgresql_sums if connection.vendor == "postgresql" else _generic_sums)(children)
    # (child, phase) → recorded days, scored days, Σ score, Σ steroid mg/kg
    totals: dict[tuple, list] = defaultdict(lambda: [0, 0, 0.0, 0.0])
    factor = {drug: float(value) for drug, value in PREDNISONE_FACTOR.items()}
    for child_id, k, days, n, score, drug, mg in sums:
        child = children[int(child_id)]
        if not 0 < k < len(child.bounds):
            continue
        inside, weight = child.segments[k]
        for phase in inside:
            total = totals[child.pk, phase]
            total[0] += days
            total[1] += n
            total[2] += score or 0
            if mg is not None and weight:
                total[3] += mg * factor[drug] / weight
    out: dict[int, dict[int, tuple]] = {}
    for (pk, phase), (days, n, score, steroid) in totals.items():
        if days:
            per_kg = steroid / days if children[pk].weights else None
            out.setdefault(pk, {})[phase] = (score / n if n else None, n, per_kg)
    return out
