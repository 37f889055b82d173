"""Per child and phase means computed by the database, for cohorts: one query, whatever the
number of children and days, so that data access does not dominate the statistics."""

import json

from django.db import connection

from outcomes.guideline import PREDNISONE_FACTOR


def _intervals_cte() -> str:
    if connection.vendor == "postgresql":
        return (
            "SELECT * FROM json_to_recordset(%s::json) "
            "AS iv(child_id bigint, phase int, first date, last date)"
        )
    return (
        "SELECT json_extract(value, '$[0]') AS child_id, json_extract(value, '$[1]') AS phase,"
        " json_extract(value, '$[2]') AS first, json_extract(value, '$[3]') AS last "
        "FROM json_each(%s)"
    )


# The steroid dose per kg of the weight on, or most recently before, the day (the nearest after
# when there is none before). PostgreSQL carries each weight forward in one sorted pass over
# weights and steroid days (window functions: a weight starts a group, the group's first row is
# its weight); elsewhere an indexed lookup per steroid day. "1.0 *": SQLite keeps
# whole-number decimals as integers and would divide them as such.
_STEROID_PER_KG = {
    False: """steroid_per_kg AS (
            SELECT d.child_id, d.date, 1.0 * st.mg / NULLIF(COALESCE(
                (SELECT g.weight_kg FROM diary_growthmeasurement g WHERE g.child_id = d.child_id
                   AND g.weight_kg IS NOT NULL AND g.date <= d.date ORDER BY g.date DESC LIMIT 1),
                (SELECT g.weight_kg FROM diary_growthmeasurement g WHERE g.child_id = d.child_id
                   AND g.weight_kg IS NOT NULL AND g.date > d.date ORDER BY g.date LIMIT 1)), 0)
                AS per_kg, 1 AS kind
            FROM (SELECT DISTINCT child_id, date FROM days) d
            JOIN steroid st ON st.child_id = d.child_id AND st.date = d.date
        )""",
    True: """weighed AS (
            SELECT child_id, date, NULL::numeric AS mg, weight_kg AS weight, 0 AS kind
            FROM diary_growthmeasurement
            WHERE weight_kg IS NOT NULL AND child_id IN (SELECT DISTINCT child_id FROM iv)
            UNION ALL
            SELECT child_id, date, mg, NULL, 1 FROM steroid
        ),
        grouped AS (
            SELECT child_id, date, mg, weight, kind,
                   COUNT(weight) OVER (PARTITION BY child_id ORDER BY date, kind
                                       ROWS UNBOUNDED PRECEDING) AS grp,
                   FIRST_VALUE(weight) OVER (PARTITION BY child_id ORDER BY kind, date)
                       AS first_weight
            FROM weighed
        ),
        steroid_per_kg AS (
            SELECT child_id, date, mg / NULLIF(COALESCE(
                       FIRST_VALUE(weight) OVER (PARTITION BY child_id, grp ORDER BY date, kind),
                       first_weight), 0) AS per_kg,
                   kind
            FROM grouped
        )""",
}


def phase_means(intervals: list[tuple]) -> dict[int, dict[int, tuple]]:
    """{child: {phase: (mean daily score, days scored, mean steroid mg/kg/day)}} for INTERVALS of
    (child id, phase, first date, last date). The steroid mean is over the scored days, a day
    without a steroid dose counting 0, per kg of the weight on or before the day (the nearest
    after when there is none before)."""
    if not intervals:
        return {}
    if connection.vendor == "postgresql":
        payload = json.dumps(
            [
                {"child_id": c, "phase": p, "first": f.isoformat(), "last": last.isoformat()}
                for c, p, f, last in intervals
            ]
        )
    else:
        payload = json.dumps(
            [[c, p, f.isoformat(), last.isoformat()] for c, p, f, last in intervals]
        )
    factor = "CASE s.drug " + "WHEN %s THEN %s " * len(PREDNISONE_FACTOR) + "ELSE 1 END"
    factor_params = [x for drug, value in PREDNISONE_FACTOR.items() for x in (drug, value)]
    # Only fixed fragments are formatted in; every value is a parameter (bandit B608, ruff S608).
    sql = f"""
        WITH iv AS ({_intervals_cte()}),
        days AS (
            SELECT iv.child_id, iv.phase, e.date, e.score
            FROM iv JOIN diary_diaryentry e
              ON e.child_id = iv.child_id AND e.date >= iv.first AND e.date <= iv.last
            WHERE e.score IS NOT NULL
        ),
        steroid AS (
            SELECT s.child_id, s.date, SUM(s.mg * {factor}) AS mg
            FROM diary_steroiddose s
            WHERE s.child_id IN (SELECT DISTINCT child_id FROM iv)
            GROUP BY s.child_id, s.date
        ),
        {_STEROID_PER_KG[connection.vendor == "postgresql"]}
        SELECT days.child_id, days.phase, AVG(days.score), COUNT(*),
               AVG(COALESCE(k.per_kg, 0))
        FROM days LEFT JOIN steroid_per_kg k
          ON k.child_id = days.child_id AND k.date = days.date AND k.kind = 1
        GROUP BY days.child_id, days.phase
    """  # noqa: S608  # nosec B608
    out: dict[int, dict[int, tuple]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload, *factor_params])
        for child_id, phase, mean, count, steroid in cursor.fetchall():
            out.setdefault(int(child_id), {})[int(phase)] = (
                float(mean),
                int(count),
                float(steroid) if steroid is not None else None,
            )
    return out
