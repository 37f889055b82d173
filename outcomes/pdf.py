"""What the visit report and the family summary share: a ReportLab Platypus document with the
child on every page's header and "page x of y" in its footer, text that wraps inside table
cells, numbers and dates in the reader's language, and the matplotlib chart as vector graphics.

Fonts: DejaVu Sans, the font matplotlib ships (so always there): it has the characters the
records use (×10⁹/L, µmol/L, ≥, French accents) that the PDF base fonts lack, and it is
embedded as a subset with its Unicode map, so the text can be searched and extracted.

The chart: matplotlib draws it as SVG with its text kept as text (svg.fonttype "none"), and
svglib (maintained, pure Python, on PyPI) turns the SVG into ReportLab drawing operations:
lines stay lines at any zoom and the chart's labels are real text. pdfrw, the usual way to place
a matplotlib PDF page inside a ReportLab document, has had no release since 2017.
"""

import io
import threading
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
from django.utils import formats
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

PAPER = {"a4": A4, "letter": LETTER}
MARGIN = 16 * mm
HEADER_SPACE = 14 * mm  # between the top margin's header line and the body
FONT, BOLD, ITALIC, BOLD_ITALIC = (
    "DejaVuSans",
    "DejaVuSans-Bold",
    "DejaVuSans-Oblique",
    "DejaVuSans-BoldOblique",
)
INK, MUTED, RULE, SHADE = (
    colors.HexColor("#111111"),
    colors.HexColor("#555555"),
    colors.HexColor("#bbbbbb"),
    colors.HexColor("#eef2f6"),
)
ALERT = colors.HexColor("#b00020")

_fonts_lock = threading.Lock()
_fonts_ready = False


def register_fonts() -> None:
    """Register DejaVu Sans (from matplotlib's own font folder) with ReportLab and svglib once."""
    global _fonts_ready
    with _fonts_lock:
        if _fonts_ready:
            return
        from svglib import fonts as svg_fonts

        folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        for name, file, weight, style in (
            (FONT, "DejaVuSans.ttf", "normal", "normal"),
            (BOLD, "DejaVuSans-Bold.ttf", "bold", "normal"),
            (ITALIC, "DejaVuSans-Oblique.ttf", "normal", "italic"),
            (BOLD_ITALIC, "DejaVuSans-BoldOblique.ttf", "bold", "italic"),
        ):
            pdfmetrics.registerFont(TTFont(name, str(folder / file)))
            # The family name matplotlib writes in its SVG text.
            svg_fonts.register_font("DejaVu Sans", str(folder / file), weight, style, name)
        pdfmetrics.registerFontFamily(
            FONT, normal=FONT, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC
        )
        _fonts_ready = True


# --- Words, numbers and dates in the reader's language ------------------------------------------


def number(value, places: int = 2) -> str:
    """VALUE rounded half up to PLACES decimals as the pages' floatformat rounds it (2.675 →
    2.68, not binary floating point's 2.67), with the reader's decimal mark; "–" for None."""
    if value is None:
        return "–"
    rounded = Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(
        Decimal(1).scaleb(-places), ROUND_HALF_UP
    )
    return formats.number_format(rounded, places, use_l10n=True)


def percent_text(value: float | None) -> str:
    """A percentage as the language writes it: "97%", "97 %"."""
    return "–" if value is None else _("%(number)s%%") % {"number": number(value, 0)}


def percent(part: int, whole: int) -> str:
    return percent_text(100 * part / whole if whole else None)


def day(value: date | None) -> str:
    """A date in a table: "16 Oct 2025", "16 oct. 2025"."""
    return formats.date_format(value, "SHORT_DATE_FORMAT") if value else "–"


def long_day(value: date | None) -> str:
    """A date in a sentence: "16 October 2025", "16 octobre 2025"."""
    return formats.date_format(value, "j F Y") if value else "–"


def moment(value: datetime) -> str:
    return formats.date_format(value, "SHORT_DATETIME_FORMAT")


# --- Styles -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Styles:
    title: ParagraphStyle
    h2: ParagraphStyle
    h3: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    head: ParagraphStyle
    alert: ParagraphStyle


def styles() -> Styles:
    register_fonts()  # a paragraph reads its font when it is made
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5, textColor=INK)
    return Styles(
        title=ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=16, leading=20),
        h2=ParagraphStyle(
            "h2", parent=body, fontName=BOLD, fontSize=12, leading=15, spaceBefore=9, spaceAfter=4
        ),
        h3=ParagraphStyle(
            "h3", parent=body, fontName=BOLD, fontSize=10, leading=13, spaceBefore=6, spaceAfter=2
        ),
        body=ParagraphStyle("text", parent=body, spaceAfter=4),
        small=ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5, textColor=MUTED),
        # Cells wrap at word boundaries, and split a word longer than the column.
        cell=ParagraphStyle("cell", parent=body, fontSize=8, leading=10, splitLongWords=1),
        head=ParagraphStyle("head", parent=body, fontName=BOLD, fontSize=7, leading=9),
        alert=ParagraphStyle("alert", parent=body, fontName=BOLD, textColor=ALERT),
    )


def text(value: str, style: ParagraphStyle) -> Paragraph:
    """VALUE as a paragraph: plain text (escaped), line breaks kept."""
    return Paragraph(escape(str(value)).replace("\n", "<br/>"), style)


def table(header: list[str], rows: list[list], widths: list[float], st: Styles) -> Table:
    """A table whose cells wrap: WIDTHS are fractions of the frame's width (set on wrap); a
    cell is a string (made a paragraph) or a flowable. The header repeats on each page."""
    data = [[text(h, st.head) for h in header]]
    data += [[c if isinstance(c, Flowable) else text(c, st.cell) for c in row] for row in rows]
    grid = _FractionTable(data, widths, repeatRows=1)
    grid.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
                ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return grid


class _FractionTable(Table):
    """A table whose column widths are fractions of the width it is given."""

    def __init__(self, data, fractions: list[float], **kwargs):
        total = sum(fractions)
        self._fractions = [f / total for f in fractions]
        super().__init__(data, colWidths=[None] * len(fractions), **kwargs)

    def wrap(self, availWidth, availHeight):  # noqa: N803 - ReportLab's names
        self._argW = [availWidth * f for f in self._fractions]
        self._colWidths = list(self._argW)
        return super().wrap(availWidth, availHeight)


def section(title: str, content: list, st: Styles) -> list:
    """A heading with its content, or nothing when there is no content (no empty headings); the
    heading stays with the first thing under it."""
    if not content:
        return []
    return [KeepTogether([text(title, st.h2), content[0]]), *content[1:]]


def facts(pairs: list[tuple[str, str]], st: Styles) -> Table:
    """Label: value lines, two columns, wrapping."""
    grid = _FractionTable(
        [[text(label, st.head), text(value, st.cell)] for label, value in pairs], [1, 3.2]
    )
    grid.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return grid


# --- The chart --------------------------------------------------------------------------------


class Chart(Flowable):
    """A vector drawing scaled to the frame's width; when less room is left on the page it
    shrinks to fit if at least MIN_SHARE of its size fits, else it starts the next page, where
    it shrinks to the page if it is taller."""

    MIN_SHARE = 0.6

    def __init__(self, drawing):
        super().__init__()
        self.drawing = drawing
        self.scale = 1.0
        self.moved = False  # sent to the next page once: it fits there, whatever its size

    def wrap(self, availWidth, availHeight):  # noqa: N803 - ReportLab's names
        d = self.drawing
        scale = availWidth / d.width
        too_tall = d.height * scale > availHeight
        if too_tall and (self.moved or availHeight >= self.MIN_SHARE * d.height * scale):
            scale = availHeight / d.height
        self.scale = scale
        self.width, self.height = d.width * scale, d.height * scale
        return self.width, self.height

    def split(self, availWidth, availHeight):  # noqa: N803
        self.moved = True
        return []  # never cut in two: the frame moves it to the next page

    def draw(self):
        from reportlab.graphics import renderPDF

        self.canv.saveState()
        self.canv.scale(self.scale, self.scale)
        renderPDF.draw(self.drawing, self.canv, 0, 0)
        self.canv.restoreState()


def svg_drawing(svg: bytes):
    from svglib.svglib import svg2rlg

    register_fonts()
    return svg2rlg(io.BytesIO(svg))


# --- The document -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Running:
    """What every page repeats: the child, their date of birth and site in the header, the
    document's name, and in the footer a line of its own and "page x of y"."""

    child: str
    born: str
    site: str
    document: str
    footer: str


def _numbered_canvas(running: Running):
    class NumberedCanvas(canvas.Canvas):
        """Keeps each page until the end, when the number of pages is known."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):  # noqa: N802
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._running(total)
                super().showPage()
            super().save()

        def _running(self, total: int) -> None:
            width, height = self._pagesize
            top = height - MARGIN + 2
            self.saveState()
            self.setFillColor(INK)
            self.setFont(BOLD, 9)
            self.drawString(MARGIN, top, running.child)
            self.setFont(FONT, 8)
            self.drawRightString(width - MARGIN, top, running.document)
            self.setFillColor(MUTED)
            self.drawString(MARGIN, top - 11, f"{running.born} · {running.site}")
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            self.line(MARGIN, top - 15, width - MARGIN, top - 15)
            bottom = MARGIN - 12
            self.line(MARGIN, bottom + 10, width - MARGIN, bottom + 10)
            self.setFont(FONT, 7.5)
            self.drawString(MARGIN, bottom, running.footer)
            self.setFillColor(INK)
            self.setFont(FONT, 8)
            self.drawRightString(
                width - MARGIN,
                bottom,
                _("Page %(page)s of %(pages)s") % {"page": self._pageNumber, "pages": total},
            )
            self.restoreState()

    return NumberedCanvas


def build(story: list, running: Running, paper: str, title: str) -> bytes:
    """The PDF of STORY on PAPER ("a4" or "letter") with RUNNING on every page."""
    register_fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=PAPER[paper],
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + HEADER_SPACE,
        bottomMargin=MARGIN + 4,
        title=title,
        author="",
        subject=title,
        creator="AGS diary",
        lang=get_language() or "en",
    )
    doc.build(story or [Spacer(1, 1)], canvasmaker=_numbered_canvas(running))
    return buffer.getvalue()
