"""Reading an uploaded contacts file: is it a CSV at all, which encoding and delimiter, the header,
how many data rows, and a stream of the rows.

- Encoding: UTF-8 (a byte-order mark is dropped), else Windows-1252 (Excel's "CSV (Comma
  delimited)" on Western Windows), else Latin-1. Decided by decoding the *whole* file, never a
  sample: a "é" on row 90,000 must not turn into mojibake. UTF-16 with a byte-order mark (Excel's
  "Unicode Text") is read too.
- Delimiter: comma, semicolon (Excel in European locales) or tab, by ``csv.Sniffer`` restricted
  to those, checked against the header line and else decided by counting in the header line.
- Rows: quoted fields may hold delimiters and line breaks. Blank lines (or rows of empty cells)
  are skipped and not counted. The header is row 1 and the first data row is row 2, like a
  spreadsheet's row numbers, whatever the line breaks inside quoted fields.

Nothing is ever held whole in memory: every pass streams the file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
DELIMITERS = ",;\t"
SAMPLE_BYTES = 64 * 1024
READ_CHUNK = 1024 * 1024

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

EXCEL_MESSAGE = (
    "This is an Excel workbook, not a CSV file. In Excel use File › Save As › "
    "“CSV UTF-8 (Comma delimited)”, then upload the .csv file."
)


class NotACsvFile(ValueError):
    """The upload cannot be imported; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class FileInfo:
    encoding: str
    delimiter: str
    headers: list[str]
    row_count: int


# csv.field_size_limit defaults to 128 KiB per cell; a long notes column must not crash a run.
csv.field_size_limit(16 * 1024 * 1024)


class _GuardedReader(io.RawIOBase):
    """A raw stream over an opened binary file that refuses NUL bytes (a binary file, not text)."""

    def __init__(self, fileobj: IO[bytes], *, allow_nul: bool = False) -> None:
        self._file = fileobj
        self._allow_nul = allow_nul

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._file.read(len(buffer))
        if not data:
            return 0
        if not self._allow_nul and b"\x00" in data:
            raise NotACsvFile(
                "This file holds binary data, not text. Upload a CSV file (in a spreadsheet app: "
                "File › Save As or Download › CSV)."
            )
        buffer[: len(data)] = data
        return len(data)


def _text(fileobj: IO[bytes], encoding: str) -> io.TextIOWrapper:
    fileobj.seek(0)
    raw = _GuardedReader(fileobj, allow_nul=encoding == "utf-16")
    # newline="" hands line breaks to the csv module untouched (quoted fields may hold them).
    return io.TextIOWrapper(
        io.BufferedReader(raw, READ_CHUNK), encoding=encoding, newline="", errors="strict"
    )


def is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def iter_rows(fileobj: IO[bytes], *, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for every data row, after the header; blank rows skipped. The row
    number is the data row's position counting the header as row 1."""
    number = 1
    header_seen = False
    for cells in csv.reader(_text(fileobj, encoding), delimiter=delimiter, strict=True):
        if is_blank(cells):
            continue
        if not header_seen:
            header_seen = True
            continue
        number += 1
        yield number, cells


def clean_headers(cells: list[str]) -> list[str]:
    """Header cells trimmed; an unnamed column is called "Column N" so it can still be shown and
    mapped. Trailing unnamed columns (a spreadsheet's stray separators) are dropped."""
    headers = [cell.strip().lstrip("\ufeff") for cell in cells]
    while headers and not headers[-1]:
        headers.pop()
    return [header or f"Column {index}" for index, header in enumerate(headers, start=1)]


def inspect(fileobj: IO[bytes]) -> FileInfo:
    """Everything the wizard needs to know about an upload, or ``NotACsvFile`` saying why it
    cannot be imported. Reads the file once, twice if it is not UTF-8, three times if it is
    not Windows-1252 either."""
    fileobj.seek(0)
    head = fileobj.read(SAMPLE_BYTES)
    if not head:
        raise NotACsvFile("The file is empty.")
    if head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        raise NotACsvFile(EXCEL_MESSAGE)
    encodings: tuple[str, ...] = ENCODINGS
    if head.startswith(_UTF16_BOMS):
        encodings = ("utf-16",)
    elif b"\x00" in head:
        _GuardedReader(io.BytesIO(head)).read(len(head))  # raises with the binary-file message

    last_error: UnicodeDecodeError | None = None
    for encoding in encodings:
        delimiter = sniff_delimiter(_decode_sample(head, encoding))
        try:
            headers, row_count = _count(fileobj, encoding, delimiter)
        except UnicodeDecodeError as exc:
            last_error = exc
            continue
        if not headers:
            raise NotACsvFile("The file has no header row: its first line should name the columns.")
        if row_count == 0:
            raise NotACsvFile("The file has a header row but no data rows below it.")
        return FileInfo(encoding=encoding, delimiter=delimiter, headers=headers, row_count=row_count)
    raise NotACsvFile(f"The file's text encoding could not be read ({last_error}). Save it as CSV UTF-8.")


def _decode_sample(head: bytes, encoding: str) -> str:
    # The sample may end inside a multi-byte character; only the delimiter is guessed from it.
    return head.decode(encoding, errors="replace")


def _count(fileobj: IO[bytes], encoding: str, delimiter: str) -> tuple[list[str], int]:
    headers: list[str] = []
    rows = 0
    reader = csv.reader(_text(fileobj, encoding), delimiter=delimiter, strict=True)
    try:
        for cells in reader:
            if is_blank(cells):
                continue
            if not headers:
                headers = clean_headers(cells)
                continue
            rows += 1
    except csv.Error as exc:
        raise NotACsvFile(
            f"The file could not be read near line {reader.line_num} ({exc}). A value there probably "
            'opens a quote (") without closing it; fix it in a text editor or spreadsheet and upload again.'
        ) from exc
    return headers, rows


def sniff_delimiter(sample: str) -> str:
    """Comma, semicolon or tab. ``csv.Sniffer`` reads quoting right but can be fooled by a
    header of one column or by punctuation in the data, so its answer must also split the header
    line; otherwise the delimiter that occurs most often in the header line wins (comma on a tie
    or when there is none: a one-column file)."""
    sample = sample.lstrip("\ufeff")
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        return ","
    header_line = lines[0]
    counts = {d: _count_outside_quotes(header_line, d) for d in DELIMITERS}
    # Only whole lines go to the sniffer: a cut-off last line would skew its statistics.
    whole = "\n".join(lines[:-1] if len(lines) > 1 else lines)
    try:
        sniffed = csv.Sniffer().sniff(whole, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    if sniffed and counts.get(sniffed, 0) > 0:
        return sniffed
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 0 else ","


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count = 0
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count
