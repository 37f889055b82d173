"""The instruments of DOMAIN §3: ranges, wordings, scoring rules and the 75% rule."""

import pytest

from diary import instruments
from diary.instruments import AGS_V1, CANDLE_V1, SAVI_V1

FULL_AGS = {
    "irritability": 3,
    "crying": 3,
    "sleep": 3,
    "seizures": 3,
    "fever": 3,
    "neuro": 3,
    "skin_trunk": 2,
    "skin_arms": 2,
    "skin_legs": 2,
}


def test_ags_diary_has_a_maximum_of_24_and_skin_subscore_of_6():
    # DOMAIN §3: six items 0–3 and three skin sites 0–2, 6×3 + 3×2 = 24.
    assert AGS_V1.max_score == 24
    assert [i.max for i in AGS_V1.items].count(3) == 6
    assert [i.max for i in AGS_V1.items if i.group == "skin"] == [2, 2, 2]
    score = AGS_V1.score(FULL_AGS)
    assert score.value == 24 and score.subscores == {"skin": 6} and score.answered == 9


def test_nih_diaries_are_means_of_items_scored_0_to_4():
    for instrument in (CANDLE_V1, SAVI_V1):
        assert instrument.rule == "mean" and instrument.max_score == 4
        assert all(item.max == 4 for item in instrument.items)
    assert [i.key for i in CANDLE_V1.items] == ["fever", "rash", "pain", "headache", "fatigue"]
    assert [i.key for i in SAVI_V1.items] == ["fever", "skin", "breathing", "pain", "fatigue"]
    # NIH median before treatment was 1.3: e.g. scores 1, 2, 1, 1, 1.5 average.
    assert CANDLE_V1.score(
        {"fever": 1, "rash": 2, "pain": 1, "headache": 1, "fatigue": 2}
    ).value == (1.4)


def test_every_score_has_a_wording():
    for instrument in instruments.CURRENT.values():
        for item in instrument.items:
            assert len(item.choices) == item.max - item.min + 1
            assert all(str(wording).strip() for wording in item.choices)
            assert len({str(w) for w in item.choices}) == len(item.choices)


def test_a_sum_with_missing_items_is_scaled_up():
    # 7 of 9 answered (78% ≥ 75%): the six 0–3 items and the trunk (0–2) can reach 20;
    # a sum of 7 is scaled to the full 24: 7 × 24 / 20 = 8.4.
    seven = {k: 1 for k in list(FULL_AGS)[:7]}
    assert AGS_V1.score(seven).value == 8.4
    # Items of one range: the same as scaling by the item count (8 of 9 at 3 → 24).
    assert AGS_V1.score({k: v for k, v in FULL_AGS.items() if k != "skin_legs"}).value == 24
    # 6 of 9 (67%) is too few: the day counts as missing, never as zero.
    six = {k: 1 for k in list(FULL_AGS)[:6]}
    assert AGS_V1.score(six).value is None


def test_a_mean_with_missing_items_is_the_mean_of_answered():
    # 4 of 5 (80%) answered.
    assert CANDLE_V1.score({"fever": 1, "rash": 2, "pain": 0, "headache": 1}).value == 1.0
    # 3 of 5 (60%): missing.
    assert CANDLE_V1.score({"fever": 1, "rash": 2, "pain": 0}).value is None


def test_subscore_needs_its_own_items():
    score = AGS_V1.score({**FULL_AGS, "skin_arms": None, "skin_legs": None})
    assert score.subscores == {"skin": None}  # 1 of 3 skin sites
    assert score.value == 24  # 7 of 9 is enough for the total, which never exceeds 24


def test_validation_messages():
    problems = AGS_V1.validate({"irritability": 4, "skin_arms": -1, "mood": 1, "sleep": "2"})
    assert problems == {
        "irritability": "The score must be between 0 and 3.",
        "skin_arms": "The score must be between 0 and 2.",
        "mood": "Unknown item for this diary.",
        "sleep": "The score must be a whole number.",
    }
    assert AGS_V1.validate({"sleep": True}) == {"sleep": "The score must be a whole number."}
    assert AGS_V1.validate(FULL_AGS) == {}


@pytest.mark.parametrize(
    ("diagnosis", "key"),
    [
        ("AGS1", "ags"),
        ("AGS9", "ags"),
        ("CANDLE", "nih-candle"),
        ("SAVI", "nih-savi"),
        ("OTHER", "nih-other"),
    ],
)
def test_default_instrument_by_diagnosis(diagnosis, key):
    assert instruments.default_for(diagnosis) == key


def test_versions_are_kept_apart():
    assert instruments.get("ags", 1) is AGS_V1
    with pytest.raises(KeyError):
        instruments.get("ags", 99)
