"""Hospital lab results in: a FHIR R4 Bundle (or one Observation) of laboratory Observations,
stored through the same path as a result typed into the labs form (`record_lab`: canonical
unit, ULN, eGFR, guideline flags and the clinicians' immediate alert).

All or nothing: every Observation is checked first, and one with a problem (unknown code or
unit, impossible value, another patient, a date in the future, no value or time…) is listed
with its index and reason; then nothing is stored. The same Observation sent again (its
`identifier`, else its code, time and value) is stored once: its key is kept on the result.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.STU3 import get_fhir_model_class as stu3_model
from pydantic import ValidationError as ModelError

from diary.models import Child
from outcomes.fhir import codes, export
from outcomes.labs import record_lab, to_canonical, uln_missing
from outcomes.models import NEEDS_ULN, UNITS, Analyte, LabFlag, LabResult

# A hospital sends a panel or a few months of results (12 tests × 25 visits). Each result
# is stored and judged as if typed in (about 33 ms each on a loaded 2-core machine), so more
# than this in one request is refused as a whole (docs/fhir.md): a request stays ~10 s.
MAX_ENTRIES = 300
FINAL = {"final", "amended", "corrected"}
# Resources a laboratory Bundle may carry beside its Observations: read (Patient) or passed.
ALONGSIDE = {"Patient", "DiagnosticReport", "Specimen", "Practitioner", "Organization"}
STU3_PROFILE = re.compile(r"hl7\.org/fhir/(STU3|3\.0)", re.IGNORECASE)


class BadRequest(Exception):
    """The body as a whole cannot be read as FHIR R4 laboratory results."""


@dataclass(frozen=True)
class Problem:
    index: int  # the Bundle's entry (0 for a single Observation)
    reason: str

    def as_dict(self) -> dict:
        return {"index": self.index, "reason": self.reason}


@dataclass
class Reading:
    """One Observation read: what record_lab needs, and its key."""

    index: int
    analyte: str
    sample_date: date
    value: Decimal
    unit: str
    uln: Decimal | None
    key: str
    canonical: Decimal


@dataclass
class Outcome:
    problems: list[Problem] = field(default_factory=list)
    created: list[LabResult] = field(default_factory=list)
    unchanged: list[LabResult] = field(default_factory=list)
    skipped: int = 0  # entries of other resource types, passed over

    @property
    def ok(self) -> bool:
        return not self.problems

    def flags(self) -> list[LabFlag]:
        return list(LabFlag.objects.filter(result__in=self.created).order_by("pk"))


def entries(data) -> tuple[list[tuple[int, dict]], list[tuple[int, dict]], int]:
    """(Observations, Patients, others skipped) of a Bundle or a single Observation, each with
    its index; BadRequest when DATA is neither."""
    if not isinstance(data, dict) or "resourceType" not in data:
        raise BadRequest(_("Send a FHIR R4 Bundle or Observation as JSON (no resourceType)."))
    kind = data["resourceType"]
    _refuse_stu3(data)
    if kind == "Observation":
        return [(0, data)], [], 0
    if kind != "Bundle":
        raise BadRequest(
            _("A %(kind)s cannot be imported: send a Bundle of Observations or one Observation.")
            % {"kind": str(kind)[:40]}
        )
    found = data.get("entry", [])
    if not isinstance(found, list):
        raise BadRequest(_("The Bundle's entry must be a list."))
    if len(found) > MAX_ENTRIES:
        raise BadRequest(
            _("The Bundle has %(n)d entries: send at most %(max)d in one request.")
            % {"n": len(found), "max": MAX_ENTRIES}
        )
    observations, patients, skipped = [], [], 0
    for index, entry in enumerate(found):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            observations.append((index, {}))  # reported as a problem below
            continue
        _refuse_stu3(resource)
        if resource.get("resourceType") == "Observation":
            observations.append((index, resource))
        elif resource.get("resourceType") == "Patient":
            patients.append((index, resource))
        elif resource.get("resourceType") in ALONGSIDE:
            skipped += 1
        else:
            observations.append((index, resource))
    if not observations:
        raise BadRequest(_("The Bundle holds no Observation."))
    return observations, patients, skipped


def _refuse_stu3(resource: dict) -> None:
    profiles = (resource.get("meta") or {}).get("profile") or []
    if any(isinstance(p, str) and STU3_PROFILE.search(p) for p in profiles):
        raise BadRequest(_("This is FHIR STU3 (3.0): send FHIR R4."))


def _model_problem(resource: dict) -> str | None:
    """Why RESOURCE is not a valid FHIR R4 Observation (fhir.resources), or None."""
    if resource.get("resourceType") != "Observation":
        if not resource:
            return _("The entry has no resource.")
        return _("A %(kind)s cannot be imported here: only Observations.") % {
            "kind": str(resource.get("resourceType"))[:40]
        }
    try:
        get_fhir_model_class("Observation").model_validate(resource)
    except ModelError as error:
        try:
            stu3_model("Observation").model_validate(resource)
        except ModelError:
            pass
        else:
            return _("This Observation is FHIR STU3 (3.0): send FHIR R4.")
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:3]
        )
        return _("Not a valid FHIR R4 Observation: %(details)s") % {"details": details}
    return None


def _identifiers(resource: dict) -> list[tuple[str, str]]:
    found = []
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("value"):
            found.append((str(ident.get("system", "")), str(ident["value"])))
    return found


def _subject_identifiers(obs: dict, patients: dict[str, dict]) -> list[tuple[str, str]] | None:
    """The identifiers the Observation's subject carries (its own, or those of the Patient of
    the Bundle it refers to); None when it names nobody we can check."""
    subject = obs.get("subject")
    if not isinstance(subject, dict):
        return None
    if isinstance(subject.get("identifier"), dict) and subject["identifier"].get("value"):
        ident = subject["identifier"]
        return [(str(ident.get("system", "")), str(ident["value"]))]
    patient = patients.get(str(subject.get("reference", "")))
    return _identifiers(patient) if patient else None


def _same_patient(child: Child, identifiers: list[tuple[str, str]]) -> bool:
    """Whether one of IDENTIFIERS is the child's: the site reference, by the app's own system
    or any hospital's (the site reference is the hospital number), or the app's child id."""
    ours = export.identifier("children", child.pk)
    for system, value in identifiers:
        if system == ours["system"]:
            if value == ours["value"]:
                return True
        elif child.reference and value.strip() == child.reference:
            return True
    return False


def _analyte(obs: dict) -> tuple[str | None, str]:
    codings = [c for c in (obs.get("code") or {}).get("coding") or [] if isinstance(c, dict)]
    loinc = codes.loinc_to_analyte()
    for coding in codings:
        if coding.get("system") == codes.LOINC and coding.get("code") in loinc:
            return loinc[coding["code"]], ""
    for coding in codings:
        if coding.get("system") == export.analyte_system() and coding.get("code") in UNITS:
            return coding["code"], ""
    named = ", ".join(
        f"{c.get('system', '?')}|{c.get('code', '?')}" for c in codings if c.get("code")
    )
    return None, named or _("no code")


def _unit(analyte: str, q: dict) -> str | None:
    """The app's unit of quantity Q, among those accepted for ANALYTE."""
    accepted = UNITS[analyte][1]
    if q.get("system") == codes.UCUM and q.get("code") in codes.UCUM_TO_UNIT:
        unit = codes.UCUM_TO_UNIT[q["code"]]
        return unit if unit in accepted else None
    for text in (q.get("unit"), q.get("code")):
        if text in accepted:
            return text
    return None


def _unit_name(q: dict) -> str:
    return str(q.get("code") or q.get("unit") or _("no unit"))


def _day(obs: dict, child: Child) -> date | None:
    moment = obs.get("effectiveDateTime") or obs.get("effectiveInstant")
    if moment is None and isinstance(obs.get("effectivePeriod"), dict):
        moment = obs["effectivePeriod"].get("start")
    if not isinstance(moment, str):
        return None
    if len(moment) == 10:
        return date.fromisoformat(moment)
    if len(moment) < 10:
        return None  # a year or a month: not a sample date
    stamp = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(child.local_now().tzinfo)
    return stamp.date()


def _key(obs: dict, analyte: str, day: date, value, unit: str) -> str:
    """The Observation's identity for idempotence: its identifier, else code + time + value."""
    idents = _identifiers(obs)
    if idents:
        system, value_ = idents[0]
        basis = f"id|{system}|{value_}"
    else:
        moment = obs.get("effectiveDateTime") or obs.get("effectiveInstant") or day.isoformat()
        basis = f"obs|{analyte}|{moment}|{value}|{unit}"
    return hashlib.sha256(basis.encode()).hexdigest()


def read(child: Child, index: int, obs: dict, patients: dict[str, dict]) -> Reading | Problem:
    """One Observation as a result to store, or the reason it cannot be."""
    if problem := _model_problem(obs):
        return Problem(index, problem)
    if obs.get("status") not in FINAL:
        return Problem(
            index,
            _("Status %(status)s: only final results are imported (final, amended, corrected).")
            % {"status": obs.get("status")},
        )
    identifiers = _subject_identifiers(obs, patients)
    if identifiers and not _same_patient(child, identifiers):
        return Problem(index, _("The Observation is about another patient (its identifier)."))
    analyte, named = _analyte(obs)
    if analyte is None:
        return Problem(
            index, _("Unknown test code %(code)s: no analyte of the app has it.") % {"code": named}
        )
    q = obs.get("valueQuantity")
    if not isinstance(q, dict) or q.get("value") is None:
        return Problem(index, _("The Observation has no value (valueQuantity)."))
    unit = _unit(analyte, q)
    if unit is None:
        return Problem(
            index,
            _("Unknown unit %(unit)s for %(test)s.")
            % {"unit": _unit_name(q), "test": Analyte(analyte).label},
        )
    try:
        day = _day(obs, child)
    except ValueError:
        day = None
    if day is None:
        return Problem(index, _("The Observation has no sample time (effectiveDateTime)."))
    if day > child.today():
        return Problem(index, _("The sample date %(day)s is in the future.") % {"day": day})
    if day < child.date_of_birth:
        return Problem(index, _("The sample date is before the child's date of birth."))
    try:
        value = Decimal(str(q["value"]))
        canonical, _unit_canonical = to_canonical(analyte, value, unit)
    except (ValidationError, InvalidOperation) as error:
        messages = getattr(error, "messages", None) or [_("Enter a number.")]
        return Problem(index, " ".join(messages))
    uln = None
    ranges = [r for r in obs.get("referenceRange") or [] if isinstance(r, dict) and r.get("high")]
    if ranges:
        high = ranges[0]["high"]
        if high.get("value") is None:
            return Problem(index, _("The reference range's upper limit has no value."))
        if (high.get("code") or high.get("unit")) and _unit(analyte, high) != unit:
            return Problem(
                index, _("The reference range is in another unit than the value: send both in one.")
            )
        uln = Decimal(str(high["value"]))
    elif analyte in NEEDS_ULN:
        return Problem(index, uln_missing(analyte))
    return Reading(
        index, analyte, day, value, unit, uln, _key(obs, analyte, day, value, unit), canonical
    )


def check(child: Child, data) -> tuple[list[Reading], Outcome]:
    """Every Observation of DATA read; problems listed, nothing written."""
    observations, patients, skipped = entries(data)
    outcome = Outcome(skipped=skipped)
    by_url = {}
    for index, patient in patients:
        entry = data["entry"][index]
        urls = [entry.get("fullUrl"), patient.get("id") and f"Patient/{patient['id']}"]
        for url in urls:
            if url:
                by_url[str(url)] = patient
    readings: list[Reading] = []
    seen: dict[str, Reading] = {}
    for index, obs in observations:
        got = read(child, index, obs, by_url)
        if isinstance(got, Problem):
            outcome.problems.append(got)
            continue
        earlier = seen.get(got.key)
        if earlier is None:
            seen[got.key] = got
            readings.append(got)
        elif (earlier.analyte, earlier.sample_date, earlier.canonical) != (
            got.analyte,
            got.sample_date,
            got.canonical,
        ):
            outcome.problems.append(
                Problem(
                    index,
                    _("Same identifier as entry %(other)d, with another result.")
                    % {"other": earlier.index},
                )
            )
    return readings, outcome


def import_labs(child: Child, user, data) -> Outcome:
    """Check DATA, then store its results in one transaction (none on any problem)."""
    readings, outcome = check(child, data)
    if not outcome.ok:
        return outcome
    stored = {
        r.source_key: r
        for r in LabResult.objects.filter(
            child=child, source_key__in=[reading.key for reading in readings]
        )
    }
    fresh = []
    for reading in readings:
        if reading.key in stored:
            outcome.unchanged.append(stored[reading.key])
        else:
            fresh.append(reading)
    # Earlier samples first, so that "persistent" and "a fall of 2 g/dL" read them.
    fresh.sort(key=lambda r: (r.sample_date, r.index))
    try:
        with transaction.atomic():
            for reading in fresh:
                try:
                    result = record_lab(
                        child,
                        user,
                        reading.analyte,
                        reading.sample_date,
                        reading.value,
                        reading.unit,
                        uln=reading.uln,
                        source_key=reading.key,
                    )
                except ValidationError as error:
                    outcome.problems.append(Problem(reading.index, " ".join(error.messages)))
                    continue
                outcome.created.append(result)
            if outcome.problems:
                raise _Rollback
    except _Rollback:
        outcome.created = []
    return outcome


class _Rollback(Exception):
    pass


def body_json(raw: bytes):
    """RAW (an upload) as JSON, or BadRequest."""
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except RecursionError:
        raise BadRequest(_("The JSON is nested too deeply.")) from None
    except ValueError as error:
        raise BadRequest(_("The JSON could not be read: %(error)s") % {"error": error}) from None
