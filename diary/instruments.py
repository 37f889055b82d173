"""The diary instruments: versioned lists of items with a parent-facing wording for every score.

Scoring belongs to the version: each entry stores the key and version it was recorded with.
Sources: DOMAIN §3 (AGS diary after Vanderver et al., NEJM 2020; NIH-style diaries after
Sanchez et al., JCI 2018). The per-item points are an unconfirmed reconstruction.
"""

from dataclasses import dataclass, field
from math import isclose

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    choices: tuple[str, ...]  # wording of score 0, 1, 2, … in order
    group: str = ""  # items of a group add up to a sub-score (e.g. "skin")

    @property
    def min(self) -> int:
        return 0

    @property
    def max(self) -> int:
        return len(self.choices) - 1


@dataclass(frozen=True)
class Score:
    value: float | None  # None: too few items answered, the day counts as missing
    subscores: dict[str, float | None]
    answered: int


@dataclass(frozen=True)
class Instrument:
    key: str
    version: int
    name: str
    items: tuple[Item, ...]
    rule: str  # "sum" or "mean"
    min_answered: float = 0.75  # fraction of items needed for a score (DOMAIN §3)
    subscore_labels: dict[str, str] = field(default_factory=dict)

    @property
    def max_score(self) -> int:
        if self.rule == "sum":
            return sum(item.max for item in self.items)
        return max(item.max for item in self.items)

    def item(self, key: str) -> Item:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)

    def validate(self, scores: dict) -> dict[str, str]:
        """Problems with SCORES as {item key: message}; empty when they are acceptable."""
        problems = {}
        keys = {item.key for item in self.items}
        for key, value in scores.items():
            if key not in keys:
                problems[key] = str(_("Unknown item for this diary."))
            elif isinstance(value, bool) or not isinstance(value, int):
                problems[key] = str(_("The score must be a whole number."))
            elif not self.item(key).min <= value <= self.item(key).max:
                problems[key] = str(
                    _("The score must be between %(min)d and %(max)d.")
                    % {"min": self.item(key).min, "max": self.item(key).max}
                )
        return problems

    def score(self, scores: dict[str, int]) -> Score:
        """The daily score and sub-scores of valid SCORES (unanswered items left out)."""
        answered = [item for item in self.items if scores.get(item.key) is not None]
        enough = len(answered) >= self.min_answered * len(self.items) - 1e-9
        value = self._combine(self.items, scores) if enough else None
        subscores = {}
        for group in self.subscore_labels:
            members = tuple(item for item in self.items if item.group == group)
            got = [item for item in members if scores.get(item.key) is not None]
            full = len(got) >= self.min_answered * len(members) - 1e-9
            subscores[group] = self._combine(members, scores) if full else None
        return Score(value=value, subscores=subscores, answered=len(answered))

    def _combine(self, items: tuple[Item, ...], scores: dict[str, int]) -> float:
        values = [scores[item.key] for item in items if scores.get(item.key) is not None]
        if self.rule == "mean":
            return round(sum(values) / len(values), 4)
        # A sum with unanswered items is scaled up to the full scale. Scaling by the answered
        # items' range rather than their count keeps AGS (items 0–3 and 0–2) within 0–24;
        # with equal ranges the two agree.
        answered_max = sum(item.max for item in items if scores.get(item.key) is not None)
        total = sum(values) * sum(item.max for item in items) / answered_max
        return round(total, 4) if not isclose(total, round(total)) else float(round(total))


NONE_TO_SEVERE = (
    pgettext_lazy("severity", "None"),
    pgettext_lazy("severity", "Mild: noticeable, did not stop usual activities"),
    pgettext_lazy("severity", "Moderate: limited some activities"),
    pgettext_lazy("severity", "Severe: stopped most activities"),
    pgettext_lazy("severity", "Very severe: needed medical help or stayed in bed all day"),
)

SKIN_SITE = (
    _("Clear"),
    _("A few red or purple patches"),
    _("Many patches, or swollen, blistered or broken skin"),
)

AGS_V1 = Instrument(
    key="ags",
    version=1,
    name=_("AGS daily diary"),
    rule="sum",
    subscore_labels={"skin": _("Skin")},
    items=(
        Item(
            "irritability",
            _("Irritability"),
            (
                _("Calm and content, as usual"),
                _("A little irritable, easy to settle"),
                _("Irritable for much of the day, hard to settle"),
                _("Irritable all day, could not be settled"),
            ),
        ),
        Item(
            "crying",
            _("Crying"),
            (
                _("No more than usual"),
                _("Some extra crying"),
                _("Cried a lot"),
                _("Cried for most of the day, could not be comforted"),
            ),
        ),
        Item(
            "sleep",
            _("Sleep"),
            (
                _("Slept as usual"),
                _("Woke a few times"),
                _("Woke often or slept badly"),
                _("Hardly slept"),
            ),
        ),
        Item(
            "seizures",
            _("Seizures"),
            (
                _("None"),
                _("One short seizure"),
                _("Several seizures"),
                _("A seizure over 5 minutes, clusters, or rescue medicine needed"),
            ),
        ),
        Item(
            "fever",
            _("Fever"),
            (
                _("No fever (below 37.5 °C)"),
                _("37.5 to 38.4 °C"),
                _("38.5 to 39.4 °C"),
                _("39.5 °C or more"),
            ),
        ),
        Item(
            "neuro",
            _("Alertness and movement"),
            (
                _("As usual"),
                _("A little less alert, or stiffer than usual"),
                _("Clearly less alert, stiffer or jerkier than usual"),
                _("Much worse: lost a skill they had"),
            ),
        ),
        Item("skin_trunk", _("Skin: chest, tummy and back"), SKIN_SITE, group="skin"),
        Item("skin_arms", _("Skin: arms and hands"), SKIN_SITE, group="skin"),
        Item("skin_legs", _("Skin: legs and feet"), SKIN_SITE, group="skin"),
    ),
)


def _nih(key: str, name, items) -> Instrument:
    return Instrument(
        key=key,
        version=1,
        name=name,
        rule="mean",
        items=tuple(Item(item_key, label, NONE_TO_SEVERE) for item_key, label in items),
    )


FEVER = ("fever", _("Fever"))
PAIN = ("pain", _("Muscle or joint pain"))
FATIGUE = ("fatigue", _("Tiredness"))

CANDLE_V1 = _nih(
    "nih-candle",
    _("Interferonopathy diary (CANDLE / PRAAS)"),
    [FEVER, ("rash", _("Rash")), PAIN, ("headache", _("Headache")), FATIGUE],
)
SAVI_V1 = _nih(
    "nih-savi",
    _("Interferonopathy diary (SAVI)"),
    [
        FEVER,
        ("skin", _("Skin sores")),
        ("breathing", _("Cough or breathing difficulty")),
        PAIN,
        FATIGUE,
    ],
)
OTHER_V1 = _nih(
    "nih-other",
    _("Interferonopathy diary (other)"),
    [FEVER, ("rash", _("Rash or skin sores")), PAIN, FATIGUE],
)

REGISTRY: dict[tuple[str, int], Instrument] = {
    (i.key, i.version): i for i in (AGS_V1, CANDLE_V1, SAVI_V1, OTHER_V1)
}
CURRENT: dict[str, Instrument] = {}
for _instrument in REGISTRY.values():
    if _instrument.version >= CURRENT.get(_instrument.key, _instrument).version:
        CURRENT[_instrument.key] = _instrument

CHOICES = [(key, instrument.name) for key, instrument in CURRENT.items()]


def get(key: str, version: int | None = None) -> Instrument:
    return CURRENT[key] if version is None else REGISTRY[(key, version)]


def default_for(diagnosis: str) -> str:
    if diagnosis.startswith("AGS"):
        return "ags"
    return {"CANDLE": "nih-candle", "SAVI": "nih-savi"}.get(diagnosis, "nih-other")
