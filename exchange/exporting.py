"""The identifiable tables of some children as a zip, streamed: the archive is written block by
block while the rows are read from the database, so memory stays bounded whatever their number."""

import csv
import hashlib
import io
import json
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from diary import csvsafe
from exchange.tables import (
    DICTIONARY_FILENAME,
    DICTIONARY_HEADER,
    MANIFEST_FILENAME,
    TABLES,
    Names,
    Type,
    as_text,
    dictionary_rows,
)

FORMAT_VERSION = 1
ROWS_PER_BLOCK = 1000


@dataclass
class Written:
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # SHA-256 of each CSV file
    sha256: str = ""  # of the whole zip
    size: int = 0


class _Sink:
    """A write-only file for ZipFile that hands over what was written since the last call."""

    def __init__(self):
        self._chunks: list[bytes] = []

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def _text(value) -> str:
    return csvsafe.neutralise(as_text(value))


def csv_blocks(header: Iterable[str], rows: Iterable[Iterable[str]]) -> Iterator[bytes]:
    """UTF-8 CSV (with the byte-order mark spreadsheets need to read accents) in blocks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(csvsafe.BOM)
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % ROWS_PER_BLOCK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def stream_zip(
    children: QuerySet,
    *,
    about: dict,
    on_done: Callable[[Written], None] | None = None,
) -> Iterator[bytes]:
    """The zip of every table for CHILDREN, the data dictionary and a manifest (ABOUT plus row
    counts and checksums). ON_DONE gets the counts and the zip's SHA-256 once it is complete."""
    names = Names(children)
    sink = _Sink()
    whole = hashlib.sha256()
    written = Written()

    def take() -> bytes:
        data = sink.take()
        whole.update(data)
        written.size += len(data)
        return data

    def member(archive: zipfile.ZipFile, filename: str, blocks: Iterable[bytes]):
        digest = hashlib.sha256()
        info = zipfile.ZipInfo(filename, date_time=time.localtime()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16  # readable once unzipped
        # Sizes are unknown until the end: zip64 headers keep large files valid.
        with archive.open(info, "w", force_zip64=True) as out:
            for block in blocks:
                digest.update(block)
                out.write(block)
                if data := take():
                    yield data
        written.files[filename] = digest.hexdigest()

    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in TABLES:
            count = 0

            # Text is neutralised against formulas; numbers and dates are written as they are.
            formats = [_text if column.type == Type.TEXT else as_text for column in table.columns]

            def cells(table=table, formats=formats):
                nonlocal count
                for row in table.rows(children, names):
                    count += 1
                    yield [
                        write(row.get(name))
                        for name, write in zip(table.names, formats, strict=True)
                    ]

            yield from member(archive, table.filename, csv_blocks(table.names, cells()))
            written.rows[table.name] = count
        yield from member(
            archive,
            DICTIONARY_FILENAME,
            csv_blocks(DICTIONARY_HEADER, map(csvsafe.row, dictionary_rows())),
        )
        manifest = {
            **about,
            "format_version": FORMAT_VERSION,
            "exported_at": as_text(timezone.now()),
            "rows": written.rows,
            "sha256": written.files,
        }
        info = zipfile.ZipInfo(MANIFEST_FILENAME, date_time=time.localtime()[:6])
        info.external_attr = 0o644 << 16
        archive.writestr(info, json.dumps(manifest, indent=2, ensure_ascii=False))
    if tail := take():
        yield tail
    written.sha256 = whole.hexdigest()
    if on_done is not None:
        on_done(written)


def write_zip(out, children: QuerySet, *, about: dict) -> Written:
    """Write the zip to the binary file OUT; returns the counts and checksums."""
    result = Written()

    def keep(written: Written) -> None:
        nonlocal result
        result = written

    for block in stream_zip(children, about=about, on_done=keep):
        out.write(block)
    return result
