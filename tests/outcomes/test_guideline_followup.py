"""The issue's table, row by row: flags and the schedule where an input came late, was missing,
or a rule was keyed on the wrong thing. Each test quotes the guideline (SPARN JAKi §5.4–§6.8)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from diary.models import GrowthMeasurement, Prescription
from outcomes.labs import child_schedule, record_lab
from outcomes.models import LabFlag, LabResult, Reminder
from outcomes.schedule import GROUPS, Course, schedule

D = Decimal


def rx(child, start, morning, afternoon, evening, drug="baricitinib", reason="initial", **extra):
    return Prescription.objects.create(
        child=child,
        drug=drug,
        indication="jia" if drug == "tofacitinib" else "interferonopathy",
        start_date=start,
        morning_mg=morning,
        afternoon_mg=afternoon,
        evening_mg=evening,
        reason=reason,
        **extra,
    )


def codes(child):
    return sorted(LabFlag.objects.filter(child=child).values_list("code", flat=True))


# --- Row 3: eGFR falls from 144 to 100 on 8 mg/day (30 kg) ------------------------------------


@pytest.fixture
def on_eight(world):
    """Amy, 30 kg and 120 cm, eGFR 144 (36 × 120 / 30), on 4/–/4 = 8 mg/day (§6.3, > 120)."""
    amy, today = world.amy, world.amy.today()
    GrowthMeasurement.objects.create(
        child=amy, date=today - timedelta(days=20), weight_kg=30, height_cm=120
    )
    record_lab(amy, world.carol, "creatinine", today - timedelta(days=20), 30, "µmol/L")
    rx(amy, today - timedelta(days=19), 4, 0, 4)
    return amy


@pytest.mark.parametrize(
    ("creatinine", "egfr", "flagged"),
    [("43.2", "100.0", True), ("36", "120.0", True), ("35.7", "121.0", False)],
)
def test_a_fall_of_egfr_below_the_table_flags_the_dose(world, on_eight, creatinine, egfr, flagged):
    # Appendix 2 (eGFR ≤ 120), 20–40 kg: escalation "4mg – 2mg = 6mg"; 8 mg/day is above it.
    result = record_lab(on_eight, world.carol, "creatinine", on_eight.today(), creatinine, "µmol/L")
    assert result.egfr == D(egfr)
    flag = LabFlag.objects.filter(result=result, code="dose-above-maximum").first()
    assert (flag is not None) is flagged
    if flagged:
        assert "8 mg/day of Baricitinib is now above the guideline's maximum of 6" in flag.message
        assert flag.source.startswith("SPARN JAKi guideline §6.4, appendix 2")
        assert flag.severity == "adjust" and flag.child == on_eight
        assert Reminder.objects.filter(child=on_eight, kind="threshold").exists()


@pytest.mark.parametrize(("weight", "flagged"), [("40", True), ("40.1", False)])
def test_a_weight_that_leaves_the_band_flags_the_dose(world, weight, flagged):
    # §6.3 > 40 kg: "6mg – 4mg = 10mg"; 20–40 kg: "8mg" (40 kg is in the 20–40 kg band).
    amy, today = world.amy, world.amy.today()
    GrowthMeasurement.objects.create(
        child=amy, date=today - timedelta(days=30), weight_kg=45, height_cm=150
    )
    record_lab(amy, world.carol, "creatinine", today - timedelta(days=30), 40, "µmol/L")  # 135
    rx(amy, today - timedelta(days=29), 6, 0, 4)
    assert codes(amy) == []
    GrowthMeasurement.objects.create(child=amy, date=today, weight_kg=weight)
    flags = LabFlag.objects.filter(child=amy, code="dose-above-maximum", result=None)
    assert flags.exists() is flagged
    if flagged:
        assert flags.get().day == today and "maximum of 8" in flags.get().message


def test_a_dose_saved_above_the_table_with_a_reason_is_not_flagged_again(world):
    amy, today = world.amy, world.amy.today()
    GrowthMeasurement.objects.create(
        child=amy, date=today - timedelta(days=20), weight_kg=30, height_cm=120
    )
    record_lab(amy, world.carol, "creatinine", today - timedelta(days=20), 30, "µmol/L")
    rx(amy, today - timedelta(days=19), 6, 0, 4, override_reason="MDT")  # 10 > 8 from the start
    record_lab(amy, world.carol, "creatinine", today, "30.5", "µmol/L")
    assert "dose-above-maximum" not in codes(amy)


# --- Row 6: ALT 1000 U/L entered without its ULN ----------------------------------------------


def test_alt_without_its_uln_is_not_stored(world):
    # §6.7: "ALT or AST >5 x upper limit of normal": the rule needs the laboratory's ULN.
    amy = world.amy
    rx(amy, date(2026, 1, 1), 2, 0, 2)
    for uln, message in [
        (None, "Give the laboratory's upper limit of normal for ALT"),
        ("0", "The upper limit of normal must be more than 0."),
        ("-3", "A result cannot be negative."),
    ]:
        with pytest.raises(ValidationError) as error:
            record_lab(amy, world.carol, "alt", date(2026, 3, 1), 1000, "U/L", uln=uln)
        assert any(message in m for m in error.value.message_dict["uln"])
    assert not LabResult.objects.exists()
    record_lab(amy, world.carol, "alt", date(2026, 3, 1), 1000, "U/L", uln=40)
    assert codes(amy) == ["bari-high-alt"]


def test_api_and_panel_refuse_alt_without_uln(world, api_for, client_for):
    from django.urls import reverse

    amy = world.amy
    response = api_for(world.carol).post(
        "/api/labs/",
        {"child": amy.pk, "sample_date": "2026-03-01", "analyte": "ast", "value": "900"},
        format="json",
    )
    assert response.status_code == 400 and "upper limit of normal" in str(response.json()["uln"])
    page = client_for(world.carol).post(
        reverse("lab_panel_create", args=[amy.pk]),
        {"sample_date": "2026-03-01", "alt": "1000", "alt_unit": "U/L", "hb": "12"},
    )
    assert page.status_code == 400 and "upper limit of normal for ALT" in page.content.decode()
    assert not LabResult.objects.exists()


# --- Row 7: tofacitinib neutrophils 0.4 on days 1, 5, 9 ----------------------------------------


def test_persistent_low_neutrophils_a_week_later_stop_tofacitinib(world):
    # §5.4: "≤0.5 x10⁹/L — If persistent a week later discontinue treatment".
    amy = world.amy
    rx(amy, date(2026, 1, 1), "3.2", 0, "3.2", drug="tofacitinib")
    day1 = date(2026, 3, 2)
    first = record_lab(amy, world.carol, "neutrophils", day1, "0.4", "×10⁹/L")
    assert [f.code for f in first.flags.all()] == ["tofa-low-neutrophils"]
    # The first result schedules its repeat a week later.
    repeat = [d for d in child_schedule(amy) if d.panel == "repeat_neutrophils"]
    assert [(d.due, d.done) for d in repeat] == [(day1 + timedelta(days=7), False)]
    fifth = record_lab(amy, world.carol, "neutrophils", day1 + timedelta(days=4), "0.4", "×10⁹/L")
    assert [f.code for f in fifth.flags.all()] == ["tofa-low-neutrophils"]
    assert not [d for d in child_schedule(amy) if d.panel == "repeat_neutrophils"][0].done
    ninth = record_lab(amy, world.carol, "neutrophils", day1 + timedelta(days=8), "0.4", "×10⁹/L")
    assert [(f.code, f.severity) for f in ninth.flags.all()] == [("tofa-stop-neutrophils", "stop")]
    assert Reminder.objects.filter(child=amy, kind="threshold").exists()  # at once, not digest
    repeat = [d for d in child_schedule(amy) if d.panel == "repeat_neutrophils"]
    assert repeat[0].done_on == day1 + timedelta(days=8)


def test_a_normal_result_between_ends_the_run():
    from outcomes.thresholds import Result, flags_for

    day = date(2026, 3, 10)
    history = [
        Result("neutrophils", D("0.4"), day - timedelta(days=9)),
        Result("neutrophils", D("1.5"), day - timedelta(days=4)),
    ]
    found = flags_for("tofacitinib", Result("neutrophils", D("0.4"), day), history, True)
    assert [f.code for f in found] == ["tofa-low-neutrophils"]


# --- Row 8: a tofacitinib child during an interruption ----------------------------------------


@pytest.mark.parametrize("reason", ["interruption", "stop"])
def test_during_an_interruption_the_last_drug_rules_apply(world, reason):
    # §5.4 neutrophils "≥0.5 - ≤1.0 — If persistent reduce or interrupt dosing".
    amy = world.amy
    rx(amy, date(2026, 1, 1), "3.2", 0, "3.2", drug="tofacitinib")
    rx(amy, date(2026, 2, 1), 0, 0, 0, drug="tofacitinib", reason=reason)
    result = record_lab(amy, world.carol, "neutrophils", date(2026, 2, 10), "0.9", "×10⁹/L")
    assert [f.code for f in result.flags.all()] == ["tofa-watch-neutrophils"]
    assert "baricitinib" not in " ".join(f.message for f in result.flags.all())


# --- Row 9: a high dose restarted after an interruption, or entered as "initial" -------------


def test_bk_jc_follows_the_dose_not_the_label(world):
    # §6.7: "If patient is on high dose baricitinib …: BK and JC virus … every 3 months".
    amy = world.amy
    GrowthMeasurement.objects.create(
        child=amy, date=date(2025, 12, 20), weight_kg=25, height_cm=120
    )
    record_lab(amy, world.carol, "creatinine", date(2025, 12, 20), 30, "µmol/L")  # 144
    rx(amy, date(2026, 1, 5), 4, 0, 4)  # "initial", 8 mg/day = §6.3 20–40 kg escalation
    items = [d.due for d in child_schedule(amy) if d.panel == "bk_jc"]
    assert items[:2] == [date(2026, 3, 30), date(2026, 6, 22)]


def test_bk_jc_restarts_with_a_high_dose_after_an_interruption():
    courses = [
        Course("baricitinib", date(2026, 1, 5), D(6)),
        Course("baricitinib", date(2026, 2, 2), D(0)),
        Course("baricitinib", date(2026, 2, 16), D(8), escalation=True),  # "restart"
    ]
    items = schedule(courses, [], today=date(2026, 6, 1))
    assert [d.due for d in items if d.panel == "bk_jc"] == [date(2026, 5, 11), date(2026, 8, 3)]


def test_high_dose_threshold_boundaries():
    from outcomes.guideline import high_dose_from

    assert high_dose_from(25, 130) == 8 and high_dose_from(25, 120) == 6
    assert high_dose_from(41, 130) == 10 and high_dose_from(19, 130) == 8
    assert high_dose_from(None, None) == 6  # unknown: the lowest, so monitoring is not missed


# --- Row 10: baricitinib stopped at week 10 ---------------------------------------------------


def test_a_stopped_drug_has_no_monitoring():
    start = date(2026, 1, 5)
    courses = [
        Course("baricitinib", start, D(6)),
        Course("baricitinib", start + timedelta(weeks=10), D(0), stopped=True),
    ]
    items = schedule(courses, [], today=date(2026, 12, 1))
    assert [d.reason for d in items if d.panel == "bloods"] == ["week 2", "week 4", "week 8"]


@pytest.mark.parametrize(("days", "restarted"), [(27, False), (28, True)])
def test_a_long_interruption_restarts_the_early_checks(days, restarted):
    start = date(2026, 1, 5)
    pause = start + timedelta(weeks=20)
    courses = [
        Course("baricitinib", start, D(6)),
        Course("baricitinib", pause, D(0)),
        Course("baricitinib", pause + timedelta(days=days), D(6)),
    ]
    items = schedule(courses, [], today=date(2026, 12, 1))
    restart = pause + timedelta(days=days)
    assert ((restart + timedelta(weeks=2)) in [d.due for d in items]) is restarted


def test_a_switch_starts_the_new_drugs_schedule():
    start = date(2026, 1, 5)
    switch = start + timedelta(weeks=10)
    courses = [Course("baricitinib", start, D(6)), Course("tofacitinib", switch, D(6))]
    items = schedule(courses, [], today=date(2026, 12, 1))
    bloods = [(d.due, d.source[-4:]) for d in items if d.panel == "bloods"]
    assert (start + timedelta(weeks=12), "§6.7") not in bloods
    assert (switch + timedelta(weeks=6), "§5.4") in bloods


# --- Row 11: BK 10,001 copies/mL --------------------------------------------------------------


@pytest.mark.parametrize(
    ("copies", "code"),
    [("999.9", "bk-under-3"), ("1000", "bk-3"), ("10000", "bk-3"), ("10001", "bk-over-4")],
)
def test_bk_uses_the_unrounded_log(world, copies, code):
    # §6.8: "Logviral load ≥ 3 — Consider dose reduction"; ">4 — Reduce dose or stop".
    amy = world.amy
    rx(amy, date(2026, 1, 1), 4, 0, 4)
    result = record_lab(amy, world.carol, "bk_plasma", date(2026, 3, 1), copies, "copies/mL")
    assert [f.code for f in result.flags.all()] == [code]


def test_bk_follow_up_uses_the_unrounded_log(world):
    amy = world.amy
    rx(amy, date(2026, 1, 1), 4, 0, 4)
    record_lab(amy, world.carol, "bk_plasma", date(2026, 3, 1), "999.9", "copies/mL")  # 3.000
    assert not [d for d in child_schedule(amy) if d.panel == "bk_viral_load"]


# --- Row 12: a height recorded after a creatinine of the same day ----------------------------


def test_egfr_is_computed_when_the_height_arrives(world):
    # §6.2b iii: "eGFR = 36 × Height(cm) / Creatinine (µmol/L)".
    amy = world.amy
    rx(amy, date(2026, 1, 1), 2, 0, 2)
    result = record_lab(amy, world.carol, "creatinine", date(2026, 3, 1), 90, "µmol/L")
    assert result.egfr is None
    GrowthMeasurement.objects.create(child=amy, date=date(2026, 3, 1), height_cm=100)
    result.refresh_from_db()
    assert result.egfr == D("40.0") and result.egfr_height_cm == 100
    # A height of a later day does not apply to an earlier creatinine.
    other = record_lab(amy, world.carol, "creatinine", date(2026, 2, 1), 90, "µmol/L")
    GrowthMeasurement.objects.create(child=amy, date=date(2026, 2, 2), height_cm=100)
    other.refresh_from_db()
    assert other.egfr is None
    # eGFR 36 × 100 / 100 = 36 < 40 (§6.7): the flag comes with the height.
    GrowthMeasurement.objects.filter(child=amy, date=date(2026, 3, 1)).delete()
    late = record_lab(amy, world.carol, "creatinine", date(2026, 3, 5), 100, "µmol/L")
    GrowthMeasurement.objects.create(child=amy, date=date(2026, 3, 5), height_cm=100)
    assert "bari-low-egfr" in {f.code for f in late.flags.all()}


# --- Row 13: only a CRP recorded near a due date ----------------------------------------------


def test_a_test_is_done_only_with_each_of_its_analytes():
    # §6.7 week 2: "FBC, U&Es, LFTs (incl bilirubin), CRP, ESR".
    start = date(2026, 1, 5)
    week2 = start + timedelta(weeks=2)
    only_crp = [("crp", week2, D(3))]
    item = schedule([Course("baricitinib", start, D(6))], only_crp, today=date(2026, 2, 1))[0]
    assert item.reason == "week 2" and not item.done and item.partial
    assert ("crp",) not in item.missing and ("alt", "ast") in item.missing
    assert len(item.missing) == len(GROUPS["bloods"]) - 1
    every = [(group[-1], week2 + timedelta(days=7), D(1)) for group in GROUPS["bloods"]]
    item = schedule([Course("baricitinib", start, D(6))], every, today=date(2026, 2, 1))[0]
    assert item.done_on == week2 + timedelta(days=7) and not item.partial  # AST for ALT or AST
    late = [(a, d + timedelta(days=1), v) for a, d, v in every]  # 8 days: outside the window
    item = schedule([Course("baricitinib", start, D(6))], late, today=date(2026, 2, 1))[0]
    assert not item.done and not item.partial


def test_partial_tests_are_shown_naming_what_is_missing(world, client_for, api_for):
    from django.urls import reverse

    amy = world.amy
    start = amy.today() - timedelta(weeks=2)
    rx(amy, start, 2, 0, 2)
    record_lab(amy, world.carol, "crp", amy.today(), 3, "mg/L")
    page = client_for(world.carol).get(reverse("labs", args=[amy.pk])).content.decode()
    row = page.split('id="schedule"')[1].split("</table>")[0]
    assert "partial" in row and "Neutrophils" in row and "ALT or AST" in row
    body = api_for(world.carol).get(f"/api/children/{amy.pk}/schedule/").json()
    week2 = next(i for i in body["items"] if i["reason"] == "week 2")
    assert week2["done_on"] is None and week2["partial"] is True
    assert ["alt", "ast"] in week2["missing"] and ["crp"] not in week2["missing"]


# --- Rest of SPARN: infection (§7.3) ----------------------------------------------------------


def diary_day(child, user, day, data):
    import uuid

    from diary import recording
    from diary.models import DiaryEntry

    return recording.record(DiaryEntry, child, user, uuid.uuid4(), day, data).row


@pytest.mark.parametrize(
    ("data", "flagged"),
    [
        ({"no_symptoms": True, "illness": True}, True),
        ({"no_symptoms": True, "max_temperature": "38.0"}, True),
        ({"no_symptoms": True, "max_temperature": "37.9"}, False),
        ({"scores": {"fever": 1}}, True),  # the diary's fever item, no temperature: a fever
        ({"scores": {"fever": 1}, "max_temperature": "37.5"}, False),  # measured: below
        ({"no_symptoms": True}, False),
    ],
)
def test_illness_or_fever_on_a_jak_inhibitor_flags_the_clinicians(world, data, flagged):
    # §7.3: "JAK inhibition should be interrupted if a patient develops a serious infection
    # whilst febrile or on antibiotics".
    amy = world.amy
    day = amy.today() - timedelta(days=1)
    rx(amy, day - timedelta(days=30), 2, 0, 2)
    diary_day(amy, world.alice, day, data)
    flags = LabFlag.objects.filter(child=amy, code="infection", day=day, result=None)
    assert flags.exists() is flagged
    if flagged:
        flag = flags.get()
        assert flag.source == "SPARN JAKi guideline §7.3" and "interrupted" in flag.message
        assert Reminder.objects.filter(child=amy, kind="threshold", test="flags").exists()
        body = api_client(world.carol).get(f"/api/children/{amy.pk}/flags/").json()
        assert body[0]["code"] == "infection" and body[0]["decision"]


def test_no_infection_flag_off_treatment_or_during_an_interruption(world, settings):
    amy = world.amy
    day = amy.today() - timedelta(days=1)
    diary_day(amy, world.alice, day - timedelta(days=40), {"no_symptoms": True, "illness": True})
    rx(amy, day - timedelta(days=30), 2, 0, 2)
    rx(amy, day - timedelta(days=2), 0, 0, 0, reason="interruption")
    diary_day(amy, world.alice, day, {"no_symptoms": True, "illness": True})
    assert not LabFlag.objects.filter(code="infection").exists()
    settings.INFECTION_FEVER_FROM_C = Decimal("37.5")
    diary_day(amy, world.alice, day - timedelta(days=5), {"max_temperature": "37.5"})
    assert LabFlag.objects.filter(code="infection").count() == 1
    assert api_client(world.dan).get(f"/api/children/{amy.pk}/flags/").status_code == 404


# --- Herpes zoster (§7.3) ---------------------------------------------------------------------
# "Herpes zoster: interrupt JAK inhibition if patient develops herpes zoster infection and
# follow the SPARN VZV guideline" (SPARN JAKi guideline §7.3).


def infection(drug, zoster=False, illness=False, interrupted=False, **extra):
    from outcomes.thresholds import infection_flags

    return infection_flags(
        drug, illness, False, None, D("38.0"), zoster=zoster, interrupted=interrupted, **extra
    )


def test_zoster_on_a_jak_inhibitor_is_its_own_stop_flag_naming_section_7_3():
    from outcomes.thresholds import INFECTION_CODES, STOP

    (flag,) = infection("baricitinib", zoster=True)
    assert (flag.code, flag.severity, flag.source) == ("zoster", STOP, "SPARN JAKi guideline §7.3")
    assert "shingles (herpes zoster) while on baricitinib" in flag.message
    assert "§7.3" in flag.message and "SPARN VZV guideline" in flag.message
    assert "interrupt JAK inhibition" in flag.message
    assert flag.message.endswith("The treating team decides.")
    assert flag.code in INFECTION_CODES
    # With an illness the same day: both flags, each its own rule.
    both = infection("baricitinib", zoster=True, illness=True)
    assert [f.code for f in both] == ["infection", "zoster"]
    assert infection("baricitinib") == []  # nothing reported, nothing raised


def test_zoster_off_a_jak_inhibitor_raises_nothing():
    # Before the first dose or after a stop the caller has no drug for the day.
    assert infection(None, zoster=True) == []
    assert infection(None, zoster=True, illness=True, interrupted=True) == []


def test_zoster_during_an_interruption_still_flags_but_an_illness_does_not():
    (flag,) = infection("tofacitinib", zoster=True, interrupted=True)
    assert flag.code == "zoster" and flag.severity == "stop"
    assert "during an interruption of tofacitinib" in flag.message
    assert "§7.3" in flag.message and "when to restart" in flag.message
    assert infection("tofacitinib", illness=True, interrupted=True) == []


def test_the_zoster_message_is_in_french_for_a_french_team():
    from django.utils import translation

    with translation.override("fr"):
        (flag,) = infection("baricitinib", zoster=True)
    assert flag.message.startswith("Le journal indique un zona (herpès zoster) sous baricitinib")
    assert "§7.3" in flag.message and "équipe soignante qui décide" in flag.message


def zoster_flags(child):
    return LabFlag.objects.filter(child=child, code="zoster", result=None)


def test_zoster_in_the_diary_on_treatment_flags_the_clinicians_at_once(world):
    amy = world.amy
    day = amy.today() - timedelta(days=1)
    rx(amy, day - timedelta(days=30), 2, 0, 2)
    diary_day(amy, world.alice, day, {"no_symptoms": True, "zoster": True})
    flag = zoster_flags(amy).get()
    assert (flag.day, flag.severity, flag.source) == (day, "stop", "SPARN JAKi guideline §7.3")
    assert "while on baricitinib" in flag.message
    # Shingles is not an "illness": the §7.3 infection rule is not raised with it.
    assert not LabFlag.objects.filter(code="infection").exists()
    assert Reminder.objects.filter(
        child=amy, kind="threshold", test="flags", recipient=world.carol
    ).exists()
    body = api_client(world.carol).get(f"/api/children/{amy.pk}/flags/").json()
    assert [(f["code"], f["severity"]) for f in body] == [("zoster", "stop")]
    assert "§7.3" in body[0]["source"] and body[0]["decision"]
    assert api_client(world.dan).get(f"/api/children/{amy.pk}/flags/").status_code == 404
    assert api_client(world.bob).get(f"/api/children/{amy.pk}/flags/").status_code == 404


def test_zoster_alone_is_a_day_worth_saving(world):
    # The one thing a parent reports must not be refused for want of the other answers.
    amy = world.amy
    day = amy.today()
    rx(amy, day - timedelta(days=30), 2, 0, 2)
    entry = diary_day(amy, world.alice, day, {"zoster": True})
    assert entry.zoster and entry.score is None and entry.answered == 0
    assert zoster_flags(amy).count() == 1
    # An illness alone is still refused, as before.
    from diary.recording import Invalid

    with pytest.raises(Invalid):
        diary_day(amy, world.alice, day - timedelta(days=1), {"illness": True})


def test_zoster_before_the_first_dose_or_after_a_stop_raises_nothing(world):
    amy = world.amy
    day = amy.today() - timedelta(days=1)
    rx(amy, day - timedelta(days=30), 2, 0, 2)
    rx(amy, day - timedelta(days=5), 0, 0, 0, reason="stop")
    diary_day(amy, world.alice, day - timedelta(days=40), {"no_symptoms": True, "zoster": True})
    diary_day(amy, world.alice, day, {"no_symptoms": True, "zoster": True})
    assert not zoster_flags(amy).exists()
    # The days in between, on treatment, are flagged.
    diary_day(amy, world.alice, day - timedelta(days=6), {"no_symptoms": True, "zoster": True})
    assert list(zoster_flags(amy).values_list("day", flat=True)) == [day - timedelta(days=6)]


def test_zoster_during_an_interruption_names_the_drug_last_given(world):
    amy = world.amy
    day = amy.today() - timedelta(days=1)
    rx(amy, day - timedelta(days=30), 5, 0, 5, drug="tofacitinib")
    rx(amy, day - timedelta(days=3), 0, 0, 0, drug="tofacitinib", reason="interruption")
    diary_day(amy, world.alice, day, {"no_symptoms": True, "zoster": True, "illness": True})
    flag = zoster_flags(amy).get()
    assert "during an interruption of tofacitinib" in flag.message
    assert not LabFlag.objects.filter(code="infection").exists()  # nothing to interrupt


def test_zoster_in_an_interruption_entered_before_any_dose_raises_nothing(world):
    amy = world.amy
    day = amy.today() - timedelta(days=1)
    rx(amy, day - timedelta(days=3), 0, 0, 0, reason="interruption")
    diary_day(amy, world.alice, day, {"no_symptoms": True, "zoster": True})
    assert not zoster_flags(amy).exists()


def test_zoster_added_in_a_correction_flags_once(world):
    from diary import recording
    from diary.models import DiaryEntry

    amy = world.amy
    day = amy.today() - timedelta(days=1)
    rx(amy, day - timedelta(days=30), 2, 0, 2)
    entry = diary_day(amy, world.alice, day, {"no_symptoms": True})
    assert not zoster_flags(amy).exists()
    data = {"no_symptoms": True, "zoster": True}
    recording.record(DiaryEntry, amy, world.carol, entry.pk, day, data, base_version=1)
    recording.record(DiaryEntry, amy, world.carol, entry.pk, day, data, base_version=2)
    assert zoster_flags(amy).count() == 1
    entry.refresh_from_db()
    assert entry.zoster and entry.version == 2
    assert [h.zoster for h in entry.history.order_by("history_date")] == [False, True]


def api_client(user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(user)
    return api
