"""Every row of the guideline's dosing tables (DOMAIN §7), its boundaries, eGFR and steroids."""

from datetime import date
from decimal import Decimal

import pytest

from outcomes import guideline as g

D = Decimal

# (eGFR, weight kg) → initial (m, a, e), escalation (m, a, e), maximum mg/day.
# SPARN §6.3 (eGFR > 120) and appendix 2 (eGFR ≤ 120), with 20 and 40 kg in the 20–40 band.
BARICITINIB_ROWS = [
    (130, 15, (2, 2, 2), (2, 4, 2), 8),
    (130, 19.9, (2, 2, 2), (2, 4, 2), 8),
    (130, 20, (4, 0, 2), (4, 0, 4), 8),
    (130, 30, (4, 0, 2), (4, 0, 4), 8),
    (130, 40, (4, 0, 2), (4, 0, 4), 8),
    (130, 40.1, (4, 0, 4), (6, 0, 4), 12),
    (130, 60, (4, 0, 4), (6, 0, 4), 12),
    (120, 15, (2, 0, 2), (2, 2, 2), 6),
    (121, 15, (2, 2, 2), (2, 4, 2), 8),
    (90, 19.9, (2, 0, 2), (2, 2, 2), 6),
    (90, 20, (2, 0, 2), (4, 0, 2), 6),
    (90, 40, (2, 0, 2), (4, 0, 2), 6),
    (90, 40.1, (2, 0, 2), (4, 0, 2), 6),
    (60, 70, (2, 0, 2), (4, 0, 2), 6),
]


@pytest.mark.parametrize(("egfr", "weight", "initial", "escalation", "maximum"), BARICITINIB_ROWS)
def test_baricitinib_interferonopathy(egfr, weight, initial, escalation, maximum):
    guidance = g.dose_guidance(
        "baricitinib", "interferonopathy", weight_kg=weight, egfr=egfr, age_years=6
    )
    assert (guidance.initial.morning, guidance.initial.afternoon, guidance.initial.evening) == (
        tuple(D(x) for x in initial)
    )
    esc = guidance.escalation
    assert (esc.morning, esc.afternoon, esc.evening) == tuple(D(x) for x in escalation)
    assert guidance.initial.total == sum(initial) and esc.total == sum(escalation)
    assert guidance.maximum_total == maximum
    assert ("§6.3" in guidance.source) == (egfr > 120)
    assert ("appendix 2" in guidance.source) == (egfr <= 120)


def test_the_issue_example():
    guidance = g.dose_guidance(
        "baricitinib", "interferonopathy", weight_kg=25, egfr=130, age_years=6
    )
    assert guidance.initial.as_dict() == {"morning": 4, "afternoon": 0, "evening": 2, "total": 6}
    assert guidance.escalation.as_dict() == {"morning": 4, "afternoon": 0, "evening": 4, "total": 8}


@pytest.mark.parametrize(("age", "mg"), [(0, 2), (5, 2), (5.9, 2), (6, 4), (15, 4)])
def test_baricitinib_jdm(age, mg):
    guidance = g.dose_guidance("baricitinib", "jdm", age_years=age)
    assert guidance.initial.as_dict() == {"morning": mg, "afternoon": 0, "evening": 0, "total": mg}
    assert guidance.escalation is None and "§6.5" in guidance.source


@pytest.mark.parametrize(("age", "mg"), [(2, 2), (8, 2), (8.9, 2), (9, 4), (17, 4), (17.5, 4)])
def test_baricitinib_jia(age, mg):
    guidance = g.dose_guidance("baricitinib", "jia", age_years=age)
    assert guidance.initial.total == mg and guidance.escalation is None
    assert "appendix 3" in guidance.source


@pytest.mark.parametrize("age", [1, 1.9, 18])
def test_baricitinib_jia_outside_the_ages(age):
    with pytest.raises(g.GuidelineInputError) as error:
        g.dose_guidance("baricitinib", "jia", age_years=age)
    assert error.value.parameter == "age_years"


@pytest.mark.parametrize(
    ("weight", "mg"),
    [
        (5, "2"),
        (6.9, "2"),
        (7, "2.5"),
        (9.9, "2.5"),
        (10, "3.2"),
        (19.9, "3.2"),
        (20, "4"),
        (39.9, "4"),
        (40, "5"),
        (80, "5"),
    ],
)
def test_tofacitinib_jia(weight, mg):
    guidance = g.dose_guidance("tofacitinib", "jia", weight_kg=weight)
    assert guidance.initial == g.regimen(mg, 0, mg)  # twice daily
    assert guidance.maximum_total == D(mg) * 2 and "§5.3" in guidance.source


def test_tofacitinib_below_5_kg():
    with pytest.raises(g.GuidelineInputError) as error:
        g.dose_guidance("tofacitinib", "jia", weight_kg="4.9")
    assert error.value.parameter == "weight_kg"


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ({"drug": "aspirin", "indication": "jia"}, "drug"),
        ({"drug": "ruxolitinib", "indication": "interferonopathy", "weight_kg": 20}, "drug"),
        ({"drug": "baricitinib", "indication": "lupus"}, "indication"),
        ({"drug": "tofacitinib", "indication": "interferonopathy", "weight_kg": 20}, "indication"),
        ({"drug": "baricitinib", "indication": "interferonopathy", "egfr": 130}, "weight_kg"),
        ({"drug": "baricitinib", "indication": "interferonopathy", "weight_kg": 20}, "egfr"),
        (
            {"drug": "baricitinib", "indication": "interferonopathy", "weight_kg": -2, "egfr": 130},
            "weight_kg",
        ),
        (
            {
                "drug": "baricitinib",
                "indication": "interferonopathy",
                "weight_kg": "heavy",
                "egfr": 130,
            },
            "weight_kg",
        ),
        (
            {"drug": "baricitinib", "indication": "interferonopathy", "weight_kg": 20, "egfr": 0},
            "egfr",
        ),
        ({"drug": "baricitinib", "indication": "jdm", "age_years": 40}, "age_years"),
    ],
)
def test_missing_or_impossible_inputs_name_the_parameter(args, parameter):
    with pytest.raises(g.GuidelineInputError) as error:
        g.dose_guidance(**args)
    assert error.value.parameter == parameter


def test_warnings_above_the_maximum_and_per_kg():
    # 22 kg, eGFR 130: maximum 8 mg/day; 10 mg/day is above it, and 10/22 = 0.45 mg/kg is fine.
    caution = g.prescription_warnings("baricitinib", "interferonopathy", D(10), 22, 6, 130)
    assert [c.source for c in caution] == ["SPARN JAKi guideline §6.3 (eGFR > 120 mL/min/1.73m²)"]
    assert "above the guideline's maximum of 8 mg/day" in caution[0].message
    # 12 kg, 8 mg/day: within the table (< 20 kg escalation) but 0.67 mg/kg/day > 0.6.
    caution = g.prescription_warnings("baricitinib", "interferonopathy", D(8), 12, 3, 130)
    assert [c.source for c in caution] == [
        "CHOP baricitinib programme (Vanderver et al., NEJM 2020)"
    ]
    assert "0.67 mg/kg/day" in caution[0].message
    # Exactly 0.6 mg/kg/day is not above it.
    assert g.prescription_warnings("baricitinib", "interferonopathy", D(6), 10, 3, 130) == []


def test_warning_at_low_egfr():
    caution = g.prescription_warnings("baricitinib", "interferonopathy", D(4), 30, 10, 29)
    assert any("§6.1" in c.source for c in caution)
    assert not g.prescription_warnings("baricitinib", "interferonopathy", D(4), 30, 10, 30)


def test_egfr_worked_examples():
    # 36 × 120 cm / 40 µmol/L = 108.0
    result = g.schwartz_egfr(120, 40)
    assert result.value == D("108.0") and result.constant == 36
    # 0.5 mg/dL = 44.2 µmol/L: 36 × 110 / 44.2 = 89.6
    assert g.schwartz_egfr(110, "0.5", unit="mg/dL").value == D("89.6")
    # The bedside Schwartz constant 36.5: 36.5 × 120 / 40 = 109.5
    assert g.schwartz_egfr(120, 40, constant="36.5").value == D("109.5")
    for args, parameter in [((120, 0), "creatinine"), ((120, 40, "mmol/L"), "unit")]:
        with pytest.raises(g.GuidelineInputError) as error:
            g.schwartz_egfr(*args)
        assert error.value.parameter == parameter


@pytest.mark.parametrize(
    ("drug", "mg", "prednisone"),
    [
        ("prednisone", 5, 5),
        ("prednisolone", 5, 5),
        ("methylprednisolone", 4, 5),
        ("hydrocortisone", 20, 5),
        ("dexamethasone", "0.75", "5.0025"),
    ],
)
def test_prednisone_equivalents(drug, mg, prednisone):
    assert g.prednisone_equivalent(drug, mg) == D(str(prednisone))


def test_weight_on_a_day():
    weights = [(date(2026, 1, 10), D(15)), (date(2026, 3, 1), D(16))]
    assert g.weight_on(date(2026, 3, 1), weights) == 16  # on the day
    assert g.weight_on(date(2026, 2, 28), weights) == 15  # most recently before
    assert g.weight_on(date(2026, 1, 1), weights) == 15  # none before: nearest after
    assert g.weight_on(date(2026, 1, 1), []) is None
    assert g.mg_per_kg(6, 15) == D("0.400")
