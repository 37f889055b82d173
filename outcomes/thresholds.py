"""The guideline's blood-test thresholds as pure functions: a result in, flags out.

Sources: SPARN JAKi guideline §5.1 and §5.4 (tofacitinib), §6.1, §6.7 and §6.8 (baricitinib).
Each flag names its section; the treating team decides.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _

GUIDELINE = "SPARN JAKi guideline"

# Severities, least to most urgent.
INFO, WATCH, ADJUST, STOP, DO_NOT_START = "info", "watch", "adjust", "stop", "do_not_start"
URGENT = {ADJUST, STOP, DO_NOT_START}  # a clinician is emailed at once
# The flag codes of an infection reported in the diary (§7.3): counted as infections, not as
# results to review.
INFECTION_CODES = frozenset({"infection", "zoster"})
PERSISTENT_WITHIN = timedelta(days=28)  # an earlier result this recent makes a low value persistent
A_WEEK = timedelta(days=7)


def _n(limit: Decimal) -> str:
    """A limit as the guideline writes it (1.0 stays 1.0), in the reader's decimal mark."""
    return number_format(limit, use_l10n=True)


# The limits themselves, shared by the flags and the lines drawn on the timeline chart.
BARI_LOW = {
    "hb": Decimal(8),
    "wcc": Decimal("2.0"),
    "neutrophils": Decimal("1.0"),
    "lymphocytes": Decimal("0.5"),
    "platelets": Decimal(75),
    "egfr": Decimal(40),
}  # §6.7: below → consider stopping or adjusting
BARI_NO_START = {"hb": Decimal(8), "neutrophils": Decimal("1.0"), "lymphocytes": Decimal("0.5")}
TOFA_BANDS = {  # §5.4: (below → stop if still so a week later, below → reduce if persistent)
    "lymphocytes": (Decimal("0.5"), Decimal("0.75")),
    "neutrophils": (Decimal("0.5"), Decimal("1.0")),
}
TOFA_HB_BELOW = Decimal(9)  # §5.4, with a fall of 2 g/dL or more
TOFA_HB_FALL = Decimal(2)
TOFA_NO_START = {"hb": Decimal(10), "neutrophils": Decimal("1.2"), "lymphocytes": Decimal("0.75")}


@dataclass(frozen=True)
class Result:
    analyte: str
    value: Decimal
    sample_date: date
    uln: Decimal | None = None


@dataclass(frozen=True)
class Flag:
    analyte: str
    code: str
    severity: str
    message: str
    source: str


def run_start(history: list[Result], result: Result, below: Decimal) -> Result | None:
    """The first result of the run of RESULT's test below BELOW that RESULT ends: earlier
    results all below, each within PERSISTENT_WITHIN of the next (None if RESULT is not below).

    "Persistent" (§5.4) reads: the run spans at least a week (A_WEEK) — a second result still
    below at least 7 days after the first, with no result at or above the limit between them
    and no gap of more than 4 weeks; results in between (day 5 of days 1, 5, 9) do not restart
    it."""
    if result.value >= below:
        return None
    earlier = sorted(
        (r for r in history if r.analyte == result.analyte and r.sample_date < result.sample_date),
        key=lambda r: r.sample_date,
        reverse=True,
    )
    first = result
    for r in earlier:
        if r.value >= below or first.sample_date - r.sample_date > PERSISTENT_WITHIN:
            break
        first = r
    return first


def persistent(history: list[Result], result: Result, below: Decimal) -> bool:
    first = run_start(history, result, below)
    return first is not None and result.sample_date - first.sample_date >= A_WEEK


def _previous(history: list[Result], analyte: str, before: date) -> Result | None:
    earlier = [r for r in history if r.analyte == analyte and r.sample_date < before]
    return max(earlier, key=lambda r: r.sample_date) if earlier else None


def _no_start(result: Result, limits: dict, code: str, message: str, section: str) -> list[Flag]:
    """The do-not-start flag of a result at or below its limit, before the first dose."""
    a = result.analyte
    if a not in limits or result.value > limits[a]:
        return []
    return [
        Flag(
            a,
            f"{code}-{a}",
            DO_NOT_START,
            message % {"name": _NAMES().get(a, a), "limit": _n(limits[a])},
            f"{GUIDELINE} {section}",
        )
    ]


def baricitinib_flags(result: Result, same_day: list[Result], treated: bool) -> list[Flag]:
    """§6.7 consider stopping or adjusting; §6.1 do not start (before the first dose)."""
    v, a = result.value, result.analyte
    source = f"{GUIDELINE} §6.7"
    flags = []
    limits = {
        "hb": (BARI_LOW["hb"], _("Hb below 8 g/dL")),
        "wcc": (BARI_LOW["wcc"], _("White cell count below 2.0 ×10⁹/L")),
        "neutrophils": (BARI_LOW["neutrophils"], _("Neutrophils below 1.0 ×10⁹/L")),
        "lymphocytes": (BARI_LOW["lymphocytes"], _("Lymphocytes below 0.5 ×10⁹/L")),
        "platelets": (BARI_LOW["platelets"], _("Platelets below 75 ×10⁹/L")),
        "egfr": (BARI_LOW["egfr"], _("eGFR below 40 mL/min/1.73m²")),
    }
    if a in limits and v < limits[a][0]:
        flags.append(
            Flag(
                a,
                f"bari-low-{a}",
                ADJUST,
                limits[a][1] + ": " + _("consider temporarily stopping or adjusting baricitinib."),
                source,
            )
        )
    if a in ("alt", "ast") and result.uln:
        bilirubin = next((r for r in same_day if r.analyte == "bilirubin" and r.uln), None)
        if v > 5 * result.uln:
            flags.append(
                Flag(
                    a,
                    f"bari-high-{a}",
                    ADJUST,
                    _(
                        "%(name)s above 5 × the upper limit of normal: consider temporarily stopping or "
                        "adjusting baricitinib."
                    )
                    % {"name": a.upper()},
                    source,
                )
            )
        elif v > 3 * result.uln and bilirubin and bilirubin.value > 2 * bilirubin.uln:
            flags.append(
                Flag(
                    a,
                    f"bari-high-{a}-bilirubin",
                    ADJUST,
                    _(
                        "%(name)s above 3 × and bilirubin above 2 × the upper limit of normal: consider "
                        "temporarily stopping or adjusting baricitinib."
                    )
                    % {"name": a.upper()},
                    source,
                )
            )
    if not treated:
        flags += _no_start(
            result,
            BARI_NO_START,
            "bari-no-start",
            _("Do not start baricitinib with %(name)s at or below %(limit)s."),
            "§6.1",
        )
    return flags


def tofacitinib_flags(result: Result, history: list[Result], treated: bool) -> list[Flag]:
    """§5.4 monitoring (with the "persistent" and "a week later" rules) and §5.1 do not start."""
    v, a = result.value, result.analyte
    source = f"{GUIDELINE} §5.4"
    flags = []
    previous = _previous(history, a, result.sample_date)
    if a in TOFA_BANDS:
        stop_below, reduce_below = TOFA_BANDS[a]
        name = _NAMES()[a]
        if v < stop_below:
            if persistent(history, result, stop_below):
                flags.append(
                    Flag(
                        a,
                        f"tofa-stop-{a}",
                        STOP,
                        _("%(name)s below %(limit)s a week later: discontinue tofacitinib.")
                        % {"name": name, "limit": _n(stop_below)},
                        source,
                    )
                )
            else:
                flags.append(
                    Flag(
                        a,
                        f"tofa-low-{a}",
                        WATCH,
                        _(
                            "%(name)s below %(limit)s: repeat in a week; if still below, discontinue "
                            "tofacitinib."
                        )
                        % {"name": name, "limit": _n(stop_below)},
                        source,
                    )
                )
        elif v < reduce_below:
            if persistent(history, result, reduce_below):
                flags.append(
                    Flag(
                        a,
                        f"tofa-reduce-{a}",
                        ADJUST,
                        _(
                            "%(name)s persistently between %(low)s and %(high)s: reduce or interrupt "
                            "tofacitinib."
                        )
                        % {"name": name, "low": _n(stop_below), "high": _n(reduce_below)},
                        source,
                    )
                )
            else:
                flags.append(
                    Flag(
                        a,
                        f"tofa-watch-{a}",
                        WATCH,
                        _(
                            "%(name)s between %(low)s and %(high)s: repeat; if persistent, reduce or "
                            "interrupt tofacitinib."
                        )
                        % {"name": name, "low": _n(stop_below), "high": _n(reduce_below)},
                        source,
                    )
                )
    if a == "hb":
        fall = previous.value - v if previous else Decimal(0)
        if v < TOFA_HB_BELOW or fall >= TOFA_HB_FALL:
            flags.append(
                Flag(
                    a,
                    "tofa-hb",
                    ADJUST,
                    _(
                        "Hb below 9 g/dL or fallen by 2 g/dL or more: interrupt tofacitinib until the "
                        "values are normal."
                    ),
                    source,
                )
            )
    if not treated:
        flags += _tofacitinib_no_start(result)
    return flags


def _tofacitinib_no_start(result: Result) -> list[Flag]:
    return _no_start(
        result,
        TOFA_NO_START,
        "tofa-no-start",
        _("Do not start tofacitinib with %(name)s at or below %(limit)s."),
        "§5.1",
    )


def bk_flags(result: Result) -> list[Flag]:
    """§6.8: serum (plasma) BK log10 viral load."""
    if result.analyte != "bk_plasma":
        return []
    v = result.value
    source = f"{GUIDELINE} §6.8"
    if v > 4:
        return [
            Flag(
                "bk_plasma",
                "bk-over-4",
                STOP,
                _("BK log viral load above 4: reduce the dose or stop baricitinib."),
                source,
            )
        ]
    if v >= 3:
        return [
            Flag(
                "bk_plasma",
                "bk-3",
                ADJUST,
                _(
                    "BK log viral load of 3 or more: consider dose reduction; monitor viral load and "
                    "urinalysis every 4 weeks, renal function, and a baseline renal ultrasound. With "
                    "signs or symptoms, reduce the dose or stop."
                ),
                source,
            )
        ]
    return [
        Flag(
            "bk_plasma",
            "bk-under-3",
            INFO,
            _("BK log viral load below 3: noted, no further action."),
            source,
        )
    ]


def flags_for(drug: str | None, result: Result, history: list[Result], treated: bool) -> list[Flag]:
    """Every flag RESULT raises for a child on DRUG (None: not on a JAK inhibitor yet; then
    the do-not-start limits of both drugs the guideline covers apply)."""
    same_day = [r for r in history if r.sample_date == result.sample_date]
    flags = bk_flags(result)
    if drug == "tofacitinib":
        flags += tofacitinib_flags(result, history, treated)
    elif drug == "baricitinib" or drug is None:
        flags += baricitinib_flags(result, same_day, treated)
    if drug is None and not treated:
        flags += _tofacitinib_no_start(result)
    return flags


def _NAMES() -> dict:  # noqa: N802 - translated at call time
    return {"hb": _("Hb"), "neutrophils": _("Neutrophils"), "lymphocytes": _("Lymphocytes")}


CHART_ANALYTES = ("hb", "neutrophils", "lymphocytes")


def chart_lines(drug: str) -> dict[str, list[tuple[Decimal, str, str]]]:
    """The guideline limits to draw on the timeline's blood-count panels for DRUG:
    {analyte: [(value, severity, label naming its section)]}."""
    if drug == "tofacitinib":
        src = f"{GUIDELINE} §5.4"
        out = {
            "hb": [
                (TOFA_HB_BELOW, ADJUST, _("Hb 9: interrupt tofacitinib (%(src)s)") % {"src": src})
            ]
        }
        for analyte, (stop, reduce) in TOFA_BANDS.items():
            name = _NAMES()[analyte]
            out[analyte] = [
                (
                    stop,
                    STOP,
                    _("%(name)s %(limit)s: stop if still below a week later (%(src)s)")
                    % {"name": name, "limit": _n(stop), "src": src},
                ),
                (
                    reduce,
                    WATCH,
                    _("%(name)s %(limit)s: reduce if persistently below (%(src)s)")
                    % {"name": name, "limit": _n(reduce), "src": src},
                ),
            ]
        return out
    src = f"{GUIDELINE} §6.7"
    return {
        analyte: [
            (
                BARI_LOW[analyte],
                ADJUST,
                _("%(name)s %(limit)s: consider stopping or adjusting baricitinib (%(src)s)")
                % {"name": _NAMES()[analyte], "limit": _n(BARI_LOW[analyte]), "src": src},
            )
        ]
        for analyte in CHART_ANALYTES
    }


def infection_flags(
    drug: str | None,
    illness: bool,
    fever: bool,
    temperature: Decimal | None,
    fever_from: Decimal,
    zoster: bool = False,
    interrupted: bool = False,
) -> list[Flag]:
    """§7.3: a diary day with an illness or infection, or a fever (a temperature at or above
    FEVER_FROM, or the diary's fever item without a temperature), while DRUG is given (None:
    not on a JAK inhibitor that day, no flag); herpes zoster (ZOSTER) has its own flag.

    INTERRUPTED: DRUG is the JAK inhibitor last given and the day falls in an interruption of
    it. Illness and fever then raise nothing (there is nothing to interrupt), but herpes zoster
    still does: §7.3 also says to follow the SPARN VZV guideline, and the team deciding on the
    restart needs to know."""
    if drug is None:
        return []
    flags = []
    if zoster:
        flags.append(zoster_flag(drug, interrupted))
    if interrupted:
        return flags
    febrile = (temperature is not None and temperature >= fever_from) or (
        fever and temperature is None
    )
    if not (illness or febrile):
        return flags
    what = []
    if illness:
        what.append(_("an illness or infection"))
    if febrile:
        what.append(
            _("a temperature of %(t)s °C") % {"t": temperature}
            if temperature is not None
            else _("fever")
        )
    flags.insert(
        0,
        Flag(
            "infection",
            "infection",
            ADJUST,
            _(
                "The diary records %(what)s while on %(drug)s: JAK inhibition should be "
                "interrupted for a serious infection while febrile or on antibiotics; for herpes "
                "zoster, interrupt it and follow the SPARN VZV guideline."
            )
            % {"what": _(" and ").join(what), "drug": drug},
            f"{GUIDELINE} §7.3",
        ),
    )
    return flags


def zoster_flag(drug: str, interrupted: bool) -> Flag:
    """§7.3: "Herpes zoster: interrupt JAK inhibition if patient develops herpes zoster
    infection and follow the SPARN VZV guideline"."""
    source = f"{GUIDELINE} §7.3"
    if interrupted:
        message = _(
            "The diary records shingles (herpes zoster) during an interruption of %(drug)s: "
            "%(source)s says to interrupt JAK inhibition for herpes zoster and to follow the "
            "SPARN VZV guideline. The treating team decides, including when to restart."
        )
    else:
        message = _(
            "The diary records shingles (herpes zoster) while on %(drug)s: %(source)s says to "
            "interrupt JAK inhibition if a patient develops herpes zoster and to follow the "
            "SPARN VZV guideline. The treating team decides."
        )
    return Flag("infection", "zoster", STOP, message % {"drug": drug, "source": source}, source)


def exact_value(value: Decimal, entered_value: Decimal, entered_unit: str) -> Decimal:
    """The canonical value unrounded: a load in copies/mL is stored as a log10 rounded to
    3 places (10,001 copies/mL → 4.000), while §6.8's "> 4" needs the exact log."""
    if entered_unit == "copies/mL" and entered_value and entered_value > 0:
        return Decimal(entered_value).log10()
    return value
