"""Attack 5: on the demo data 12 of 17 eligible children were held back and the 5 left were
all girls of 5–9. Cell suppression and generalisation now keep most of them."""

import io

from django.core.management import call_command
from django.utils import timezone

from outcomes import export
from tests.outcomes import export_checks


def test_the_demo_export_holds_back_few_children_and_says_why(db, settings, capsys):
    settings.DEMO_PASSWORD = ""
    call_command("seed_demo")
    capsys.readouterr()
    eligible = export.eligible_children(("north", "south")).count()
    out = io.BytesIO()
    options = export.Options("demo-study", ("north", "south"), timezone.localdate())
    export.write_export(out, options)
    result = export_checks.check(out.getvalue())
    counts = result.manifest["children"]
    exported = counts["exported"]
    assert eligible == 17
    assert exported >= 0.75 * eligible  # 5 of 17 before; 14 now, none of them whole
    children = result.tables["children.csv"]
    assert {row["sex"] for row in children} >= {"F", "M"}  # not only girls any more
    assert "age_years" not in children[0] and "consent_version" not in children[0]
    assert set(counts["held_back"]) == {"no_data", "small_class"}
