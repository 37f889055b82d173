"""The visit report: one child, a date range, printable on A4 or US Letter."""

import io
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.image import imread

from diary.models import DiaryEntry, Prescription
from outcomes import charts
from outcomes.pages import child_outcome, generated_at

PAPER = {"a4": (8.27, 11.69), "letter": (8.5, 11.0)}


def _fmt(value, places=2) -> str:
    """Rounded as the page's floatformat rounds (half up on the shortest decimal), so that a
    mean of 2.675 reads 2.68 on paper too, not 2.67 as binary float formatting gives."""
    if value is None:
        return "–"
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


def visit_report(
    child, first: date, last: date, paper: str = "a4", clinician_copy: bool = False
) -> bytes:
    size = PAPER[paper]
    outcome = child_outcome(child)
    summary = outcome.summary
    instrument = child.get_instrument()
    buffer = io.BytesIO()
    with PdfPages(
        buffer,
        metadata={"Title": f"Visit report {child}", "Creator": "AGS diary", "CreationDate": None},
    ) as pdf:
        page = Figure(figsize=size)
        page.text(0.08, 0.95, _("Visit report"), fontsize=18, weight="bold")
        born = _("born %(date)s") % {"date": child.date_of_birth.isoformat()}
        page.text(
            0.08,
            0.92,
            f"{child} · {born} · {child.get_diagnosis_display()} · {child.site.name}",
            fontsize=10,
        )
        page.text(
            0.08,
            0.895,
            _("From %(first)s to %(last)s · %(diary)s (0–%(max)s) · generated %(at)s")
            % {
                "first": first.isoformat(),
                "last": last.isoformat(),
                "diary": instrument.name,
                "max": instrument.max_score,
                "at": generated_at(),
            },
            fontsize=9,
        )
        page.text(
            0.08,
            0.87,
            _("Copy for the clinical team") if clinician_copy else _("Copy for the family"),
            fontsize=9,
            style="italic",
        )
        ax = page.add_axes([0.08, 0.62, 0.84, 0.22])
        ax.axis("off")
        header = [
            _("Phase"),
            _("From"),
            _("To"),
            _("Days"),
            _("Recorded"),
            _("Mean"),
            _("Median (IQR)"),
            _("Steroid\nmg/kg/day"),
        ]
        cells = []
        for r in summary.summaries:
            cells.append(
                [
                    str(r.phase),
                    r.start.isoformat() if r.start else "–",
                    r.end.isoformat() if r.end else "–",
                    str(r.days),
                    f"{r.recorded}" if r.days else "–",
                    _fmt(r.mean),
                    f"{_fmt(r.median, 1)} ({_fmt(r.q1, 1)}–{_fmt(r.q3, 1)})"
                    if r.median is not None
                    else "–",
                    _fmt(r.steroid_mg_per_kg),
                ]
            )
        table = ax.table(cellText=cells, colLabels=header, loc="upper left", cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.scale(1, 1.5)
        page.text(
            0.08,
            0.58,
            _(
                "Phases as in the NIH baricitinib study (Sanchez et al., JCI "
                "2018). Decision support: the treating team decides."
            ),
            fontsize=8,
        )
        chart = charts.timeline_figure(
            outcome.data,
            summary.phases,
            child.first_name,
            instrument.max_score,
            outcome.labs,
            size=(size[0] - 1, 5.2),
            start=first,
        )
        picture = io.BytesIO(charts.render(chart, "png"))
        image = page.add_axes([0.05, 0.05, 0.9, 0.5])
        image.axis("off")
        image.imshow(imread(picture))
        pdf.savefig(page)

        page = Figure(figsize=size)
        page.text(0.08, 0.95, _("Doses"), fontsize=14, weight="bold")
        y = 0.92
        for p in Prescription.objects.filter(child=child, start_date__lte=last).order_by(
            "start_date"
        ):
            page.text(
                0.08,
                y,
                f"{p.start_date:%Y-%m-%d}  {p.get_drug_display()}  "
                f"{p.morning_mg:g} / {p.afternoon_mg:g} / {p.evening_mg:g} mg  "
                f"= {p.total_mg:g} mg/day  ({p.get_reason_display()})",
                fontsize=9,
            )
            y -= 0.022
            if y < 0.5:
                break
        if clinician_copy:
            y -= 0.03
            page.text(0.08, y, _("Diary notes"), fontsize=14, weight="bold")
            y -= 0.03
            notes = (
                DiaryEntry.objects.filter(child=child, date__range=(first, last))
                .exclude(note="")
                .order_by("date")
                .values_list("date", "note")
            )
            for day, note in notes:
                page.text(0.08, y, f"{day:%Y-%m-%d}  {note[:110]}", fontsize=8)
                y -= 0.02
                if y < 0.05:
                    break
        pdf.savefig(page)
    return buffer.getvalue()
