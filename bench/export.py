"""The anonymised export of N diary rows beside PostgreSQL's own COPY of the same rows.

The export runs in a child process so that its peak memory (ru_maxrss) is its own:
`python -m bench.export --child diary|full OUT.zip` prints one JSON line.
"""

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

STUDY = "bench-study"
ROOT = Path(__file__).resolve().parents[1]


def _prepare():
    """The bench site in a study, every bench child consenting (so N is every diary row)."""
    from datetime import date

    from diary.models import Child, DiaryEntry, Site
    from outcomes.models import Study

    site = Site.objects.get(code="bench")
    study, _ = Study.objects.get_or_create(code=STUDY, defaults={"title": "Benchmark"})
    study.sites.add(site)
    Child.objects.filter(site=site, consent_date__isnull=True).update(
        consent_version="bench", consent_date=date(2024, 1, 1), consent_withdrawn_date=None
    )
    return DiaryEntry.objects.filter(child__site=site).count()


def _options():
    from django.utils import timezone

    from outcomes.export import Options

    return Options(STUDY, ("bench",), timezone.localdate())


def child(mode: str, out: str) -> None:
    """Measure one export in this process and print seconds, rows and peak RSS."""
    import django

    django.setup()
    import zipfile

    from outcomes import export

    options = _options()
    started = time.perf_counter()
    with open(out, "wb") as handle:
        if mode == "full":
            manifest = export.write_export(handle, options)
            rows = manifest["files"]["diary.csv"]["rows"]
        else:
            group = export.cohort(options, export.settings.PSEUDONYM_KEY)
            columns = export.dictionary(options)["diary.csv"]
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
                member = export.CsvMember(archive, "diary.csv", [c.name for c in columns])
                export.write_diary(member, group.subjects, options)
                rows = member.close()["rows"]
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": _peak_mb()}))


def _peak_mb() -> float:
    """This process's own peak RSS. ru_maxrss would not do: Linux carries the parent's peak
    over fork and exec, and the parent holds the generated cohort."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_child(mode: str) -> dict:
    out = ROOT / "bench" / "results" / f"export-{mode}.zip"
    out.parent.mkdir(exist_ok=True)
    result = subprocess.run(  # noqa: S603 - this interpreter, this module
        [sys.executable, "-m", "bench.export", "--child", mode, str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["zip_mb"] = out.stat().st_size / 1e6
    out.unlink()
    return figures


COPY_SQL = """
COPY (
    SELECT e.child_id, e.date, e.instrument_key, e.instrument_version, {items},
           e.score, e.subscores ->> 'skin', e.answered, e.no_symptoms, e.fever,
           e.max_temperature, e.illness, e.zoster, e.seizure_count, e.seizure_longest_min,
           e.seizure_rescue
    FROM diary_diaryentry e JOIN diary_child c ON c.id = e.child_id
    JOIN diary_site s ON s.id = c.site_id
    WHERE s.code = 'bench' AND c.consent_date IS NOT NULL
      AND c.consent_withdrawn_date IS NULL AND e.date <= %s
    ORDER BY e.child_id, e.date
) TO STDOUT WITH (FORMAT csv)
"""


def _copy_seconds(cutoff) -> tuple[float, int]:
    """PostgreSQL's COPY of the same rows and columns to this process (bytes read, dropped)."""
    from django.db import connection

    from outcomes.export import ITEMS

    sql = COPY_SQL.format(items=", ".join(f"e.scores ->> '{k}'" for k in ITEMS))
    started = time.perf_counter()
    size = 0
    with connection.cursor() as cursor, cursor.cursor.copy(sql, [cutoff]) as copy:
        for block in copy:
            size += len(block)
    return time.perf_counter() - started, size


def _select_seconds(cutoff) -> tuple[float, int]:
    """Without PostgreSQL: the same rows fetched by a plain cursor (a weaker baseline)."""
    from django.db import connection

    sql = (
        "SELECT e.* FROM diary_diaryentry e JOIN diary_child c ON c.id = e.child_id "
        "JOIN diary_site s ON s.id = c.site_id WHERE s.code = 'bench' AND e.date <= %s "
        "ORDER BY e.child_id, e.date"
    )
    started = time.perf_counter()
    rows = 0
    with connection.cursor() as cursor:
        cursor.execute(sql, [cutoff])
        while batch := cursor.fetchmany(10000):
            rows += len(batch)
    return time.perf_counter() - started, rows


def scenario_export(scale: dict) -> dict:
    from django.db import connection

    rows = _prepare()
    cutoff = _options().cutoff
    diary = _run_child("diary")
    full = _run_child("full")
    postgres = connection.vendor == "postgresql"
    copies = [(_copy_seconds if postgres else _select_seconds)(cutoff)[0] for _ in range(3)]
    baseline = sorted(copies)[1]
    figure = diary["seconds"]
    ratio = baseline / figure  # share of COPY's throughput
    return {
        "scenario": "anonymised export",
        "size": f"{diary['rows']} of {rows} diary rows",
        "figure_s": round(figure, 3),
        "baseline": "PostgreSQL COPY (SELECT same rows) TO STDOUT"
        if postgres
        else "SELECT of the same rows (not PostgreSQL: no COPY)",
        "baseline_s": round(baseline, 3),
        "ratio": round(figure / baseline, 2),
        "target": "≥ 1/3 of COPY's throughput, peak < 300 MB",
        "met": ratio >= 1 / 3 and max(diary["peak_mb"], full["peak_mb"]) < 300,
        "notes": (
            f"diary.csv: {diary['rows'] / figure:,.0f} rows/s, peak {diary['peak_mb']:.0f} MB; "
            f"COPY {diary['rows'] / baseline:,.0f} rows/s; whole export (7 tables, phases, "
            f"dictionary) {full['seconds']:.1f} s, peak {full['peak_mb']:.0f} MB, "
            f"zip {full['zip_mb']:.1f} MB"
        ),
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: python -m bench.export --child diary|full OUT.zip (or make bench)")
