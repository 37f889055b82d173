"""Every guideline threshold at, just below and just above its value (DOMAIN §8)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from outcomes.thresholds import ADJUST, DO_NOT_START, INFO, STOP, WATCH, Result, flags_for

DAY = date(2026, 3, 1)


def codes(drug, analyte, value, uln=None, history=(), treated=True, same_day=()):
    result = Result(analyte, Decimal(str(value)), DAY, Decimal(str(uln)) if uln else None)
    return {(f.code, f.severity) for f in flags_for(drug, result, [*history, *same_day], treated)}


# (analyte, limit, just below, just above): baricitinib §6.7 "consider stopping or adjusting"
BARICITINIB_LOW = [
    ("hb", 8, "7.9", "8.1"),
    ("wcc", "2.0", "1.9", "2.1"),
    ("neutrophils", "1.0", "0.9", "1.1"),
    ("lymphocytes", "0.5", "0.4", "0.6"),
    ("platelets", 75, 74, 76),
    ("egfr", 40, "39.9", "40.1"),
]


@pytest.mark.parametrize(("analyte", "limit", "below", "above"), BARICITINIB_LOW)
def test_baricitinib_low_counts(analyte, limit, below, above):
    code = (f"bari-low-{analyte}", ADJUST)
    assert code in codes("baricitinib", analyte, below)
    assert code not in codes("baricitinib", analyte, limit)  # "below": the limit itself is fine
    assert code not in codes("baricitinib", analyte, above)


@pytest.mark.parametrize("analyte", ["alt", "ast"])
def test_baricitinib_transaminases(analyte):
    uln = 40
    assert (f"bari-high-{analyte}", ADJUST) in codes("baricitinib", analyte, 201, uln)
    assert not codes("baricitinib", analyte, 200, uln)  # exactly 5 × ULN
    assert not codes("baricitinib", analyte, 199, uln)
    # Above 3 × ULN counts only with total bilirubin above 2 × ULN the same day.
    bilirubin_high = [Result("bilirubin", Decimal(41), DAY, Decimal(20))]
    bilirubin_at = [Result("bilirubin", Decimal(40), DAY, Decimal(20))]
    code = (f"bari-high-{analyte}-bilirubin", ADJUST)
    assert code in codes("baricitinib", analyte, 121, uln, same_day=bilirubin_high)
    assert code not in codes("baricitinib", analyte, 120, uln, same_day=bilirubin_high)
    assert code not in codes("baricitinib", analyte, 121, uln, same_day=bilirubin_at)


@pytest.mark.parametrize(
    ("analyte", "limit", "above"),
    [("hb", 8, "8.1"), ("neutrophils", "1.0", "1.1"), ("lymphocytes", "0.5", "0.6")],
)
def test_baricitinib_do_not_start(analyte, limit, above):
    code = (f"bari-no-start-{analyte}", DO_NOT_START)
    assert code in codes(None, analyte, limit, treated=False)  # "≤": at the limit too
    assert code not in codes(None, analyte, above, treated=False)
    assert code not in codes("baricitinib", analyte, limit, treated=True)


@pytest.mark.parametrize(
    ("analyte", "stop_below", "reduce_below"),
    [("lymphocytes", "0.5", "0.75"), ("neutrophils", "0.5", "1.0")],
)
def test_tofacitinib_bands_and_persistence(analyte, stop_below, reduce_below):
    earlier = lambda v, days: [Result(analyte, Decimal(v), DAY - timedelta(days=days))]  # noqa: E731
    # At the upper limit: continue. Just below: repeat, then reduce if persistent.
    assert not codes("tofacitinib", analyte, reduce_below)
    just_below = str(Decimal(reduce_below) - Decimal("0.01"))
    assert (f"tofa-watch-{analyte}", WATCH) in codes("tofacitinib", analyte, just_below)
    assert (f"tofa-reduce-{analyte}", ADJUST) in codes(
        "tofacitinib", analyte, just_below, history=earlier(just_below, 10)
    )
    # An old low result (over four weeks) does not make it persistent.
    assert (f"tofa-watch-{analyte}", WATCH) in codes(
        "tofacitinib", analyte, just_below, history=earlier(just_below, 40)
    )
    # Exactly the lower limit is still the "reduce" band.
    assert (f"tofa-watch-{analyte}", WATCH) in codes("tofacitinib", analyte, stop_below)
    # Below it: repeat in a week; still below a week later: stop.
    under = str(Decimal(stop_below) - Decimal("0.01"))
    assert (f"tofa-low-{analyte}", WATCH) in codes("tofacitinib", analyte, under)
    assert (f"tofa-low-{analyte}", WATCH) in codes(
        "tofacitinib", analyte, under, history=earlier(under, 6)
    )
    assert (f"tofa-stop-{analyte}", STOP) in codes(
        "tofacitinib", analyte, under, history=earlier(under, 7)
    )


def test_tofacitinib_haemoglobin():
    assert ("tofa-hb", ADJUST) in codes("tofacitinib", "hb", "8.9")
    assert not codes("tofacitinib", "hb", 9)
    previous = [Result("hb", Decimal("12.0"), DAY - timedelta(days=30))]
    assert ("tofa-hb", ADJUST) in codes("tofacitinib", "hb", "10.0", history=previous)  # fall 2
    assert not codes("tofacitinib", "hb", "10.1", history=previous)  # fall 1.9


@pytest.mark.parametrize(
    ("analyte", "limit", "above"),
    [("hb", 10, "10.1"), ("neutrophils", "1.2", "1.3"), ("lymphocytes", "0.75", "0.76")],
)
def test_tofacitinib_do_not_start(analyte, limit, above):
    code = (f"tofa-no-start-{analyte}", DO_NOT_START)
    assert code in codes("tofacitinib", analyte, limit, treated=False)
    assert code not in codes("tofacitinib", analyte, above, treated=False)
    # Once treatment has started, §5.4's monitoring rules apply instead.
    assert code not in codes("tofacitinib", analyte, limit, treated=True)
    # Before any JAK inhibitor, both drugs' do-not-start limits apply (the drug is not chosen).
    assert code in codes(None, analyte, limit, treated=False)
    assert code not in codes(None, analyte, above, treated=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2.9", ("bk-under-3", INFO)),
        ("3.0", ("bk-3", ADJUST)),
        ("3.1", ("bk-3", ADJUST)),
        ("4.0", ("bk-3", ADJUST)),
        ("4.1", ("bk-over-4", STOP)),
    ],
)
def test_bk_viral_load(value, expected):
    assert codes("baricitinib", "bk_plasma", value) == {expected}


def test_every_flag_names_its_section():
    result = Result("hb", Decimal("7"), DAY)
    for flag in flags_for("baricitinib", result, [], treated=False):
        assert flag.source.startswith("SPARN JAKi guideline §")


def test_chart_lines_are_the_flag_limits_of_the_drug():
    from outcomes.thresholds import chart_lines

    bari = {a: [(v, s) for v, s, _t in lines] for a, lines in chart_lines("baricitinib").items()}
    assert bari == {
        "hb": [(Decimal(8), ADJUST)],
        "neutrophils": [(Decimal("1.0"), ADJUST)],
        "lymphocytes": [(Decimal("0.5"), ADJUST)],
    }
    tofa = {a: [(v, s) for v, s, _t in lines] for a, lines in chart_lines("tofacitinib").items()}
    assert tofa == {
        "hb": [(Decimal(9), ADJUST)],
        "neutrophils": [(Decimal("0.5"), STOP), (Decimal("1.0"), WATCH)],
        "lymphocytes": [(Decimal("0.5"), STOP), (Decimal("0.75"), WATCH)],
    }
    # Each drawn line is a limit the flags use: just below it raises a flag of that drug.
    for drug, lines in (("baricitinib", bari), ("tofacitinib", tofa)):
        for analyte, drawn in lines.items():
            for value, _severity in drawn:
                assert codes(drug, analyte, value - Decimal("0.01"))
    texts = [t for lines in chart_lines("tofacitinib").values() for _v, _s, t in lines]
    assert all("§5.4" in t for t in texts)
    assert all("§6.7" in t for _a, ls in chart_lines("baricitinib").items() for *_, t in ls)
