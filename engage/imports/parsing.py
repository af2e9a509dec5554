"""Reading an uploaded contacts file: is it a CSV at all, which encoding and delimiter, the header,
how many data rows, and a stream of the rows.

- Encoding: UTF-8 (a byte-order mark is dropped), else Windows-1252 (Excel's "CSV (Comma
  delimited)" on Western Windows), else Latin-1. Decided by decoding the *whole* file, never a
  sample: a "é" on row 90,000 must not turn into mojibake. UTF-16 with a byte-order mark (Excel's
  "Unicode Text") is read too. A file that is UTF-8 except for some lines (two exports pasted
  together) is ``MIXED``: its lines that are not UTF-8 are listed in ``FileInfo`` for the person
  to decide about, and if they go ahead those lines alone are read as Windows-1252 — never the
  whole file, which would garble every UTF-8 accent.
- Delimiter: Excel's ``sep=;`` first line when there is one (the line is not the header), else
  comma, semicolon (Excel in European locales) or tab, by ``csv.Sniffer`` restricted to those,
  checked against the header line and else decided by counting in the header line.
- Caps (``inspect``'s ``max_columns`` and ``max_line_bytes``): a file wider or with longer lines
  is refused with the limit and what was found, before any of it is stored.
- Rows: quoted fields may hold delimiters and line breaks. Blank lines (or rows of empty cells)
  are skipped and not counted. The header is row 1 and the first data row is row 2, like a
  spreadsheet's row numbers, whatever the line breaks inside quoted fields.

Nothing is ever held whole in memory: every pass streams the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
# Per line: UTF-8, else Windows-1252 (else Latin-1, for the five bytes Windows-1252 leaves undefined).
MIXED = "utf-8+cp1252"
NON_UTF8_LINES_KEPT = 20  # line numbers listed for the person; the count covers them all
NON_UTF8_SAMPLES_KEPT = 3  # of them shown as they read in Windows-1252
NON_UTF8_SAMPLE_CHARS = 200
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
    # MIXED only: the first lines (as a text editor numbers them) that are not UTF-8, and how many.
    non_utf8_lines: tuple[int, ...] = ()
    non_utf8_count: int = 0
    # The first few of those lines as they read in Windows-1252, for the person to check.
    non_utf8_samples: tuple[str, ...] = ()


# Excel writes ``sep=;`` as the first line of a CSV to say which delimiter it used.
_SEP_LINE = re.compile(r"\ufeff?sep=([^\w\s\"'])\r?\n?")


# csv.field_size_limit defaults to 128 KiB per cell; a long notes column must not crash a run.
csv.field_size_limit(16 * 1024 * 1024)


class _GuardedReader(io.RawIOBase):
    """A raw stream over an opened binary file that refuses NUL bytes (a binary file, not text)."""

    def __init__(
        self, fileobj: IO[bytes], *, allow_nul: bool = False, max_line_bytes: int | None = None
    ) -> None:
        self._file = fileobj
        self._allow_nul = allow_nul
        self._max_line = max_line_bytes
        self._line = 1  # the line being read, as a text editor numbers them
        self._run = 0  # its bytes so far

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
        if self._max_line is not None:
            self._check_lines(data)
        buffer[: len(data)] = data
        return len(data)

    def _check_lines(self, data: bytes) -> None:
        """Refuse a line longer than the cap as soon as it is seen (the csv module would hold it
        whole in memory). Lines end at LF, which CRLF line endings also have."""
        assert self._max_line is not None
        pieces = data.split(b"\n")
        for index, piece in enumerate(pieces):
            length = (self._run if index == 0 else 0) + len(piece)
            if length > self._max_line:
                raise NotACsvFile(
                    f"Line {self._line + index:,} of this file is longer than {_kb(self._max_line)}; "
                    f"Cadence reads lines of at most {_kb(self._max_line)}. A contact's row is never that "
                    "long: check that this is the right file, or remove the long values and upload again."
                )
        self._line += len(pieces) - 1
        self._run = (self._run if len(pieces) == 1 else 0) + len(pieces[-1])


def _kb(size: int) -> str:
    return f"{size / 1024:,.0f} KB"


def _lines(fileobj: IO[bytes], encoding: str, max_line_bytes: int | None = None) -> Iterable[str]:
    """The file's text, line by line with the line breaks kept (the csv module wants them)."""
    fileobj.seek(0)
    raw = _GuardedReader(fileobj, allow_nul=encoding == "utf-16", max_line_bytes=max_line_bytes)
    if encoding == MIXED:
        return _mixed_lines(io.BufferedReader(raw, READ_CHUNK))
    # newline="" hands line breaks to the csv module untouched (quoted fields may hold them).
    return io.TextIOWrapper(
        io.BufferedReader(raw, READ_CHUNK), encoding=encoding, newline="", errors="strict"
    )


def _mixed_lines(raw: io.BufferedReader) -> Iterator[str]:
    # LF never occurs inside a UTF-8 or Windows-1252 character, so lines can be decoded one by one.
    for number, line in enumerate(raw, start=1):
        yield _decode_line(line, first=number == 1)


def _decode_line(line: bytes, *, first: bool) -> str:
    try:
        return line.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError:
        try:
            return line.decode("cp1252")
        except UnicodeDecodeError:
            return line.decode("latin-1")


def sep_line_delimiter(line: str) -> str | None:
    """The delimiter named by Excel's ``sep=`` first line, or None when ``line`` is not one."""
    match = _SEP_LINE.fullmatch(line)
    return match.group(1) if match else None


def _reader(
    fileobj: IO[bytes], encoding: str, delimiter: str, max_line_bytes: int | None = None
) -> tuple[Any, int]:
    """A csv reader over the file without its ``sep=`` line, and how many lines were skipped
    (to add to the reader's line numbers)."""
    lines = iter(_lines(fileobj, encoding, max_line_bytes))
    first = next(lines, None)
    skipped = 1 if first is not None and sep_line_delimiter(first) else 0
    if first is not None and not skipped:
        lines = itertools.chain([first], lines)
    return csv.reader(lines, delimiter=delimiter, strict=True), skipped


def is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def iter_rows(fileobj: IO[bytes], *, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for every data row, after the header; blank rows skipped. The row
    number is the data row's position counting the header as row 1."""
    number = 1
    header_seen = False
    reader, _ = _reader(fileobj, encoding, delimiter)
    for cells in reader:
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


def inspect(
    fileobj: IO[bytes], *, max_columns: int | None = None, max_line_bytes: int | None = None
) -> FileInfo:
    """Everything the wizard needs to know about an upload, or ``NotACsvFile`` saying why it
    cannot be imported (also when it has more than ``max_columns`` columns or a line longer than
    ``max_line_bytes``). Reads the file once, twice if it is not UTF-8, three or four times if
    it is not Windows-1252 either."""
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
    caps = {"max_columns": max_columns, "max_line_bytes": max_line_bytes}

    last_error: UnicodeDecodeError | None = None
    for encoding in encodings:
        try:
            return _info(fileobj, head, encoding, **caps)
        except UnicodeDecodeError as exc:
            last_error = exc
        if encoding == "utf-8-sig":
            bad, count, samples = _non_utf8_lines(fileobj, max_line_bytes)
            if bad:  # mostly UTF-8: never decode it all as Windows-1252
                info = _info(fileobj, head, MIXED, **caps)
                return FileInfo(
                    **{
                        **info.__dict__,
                        "non_utf8_lines": bad,
                        "non_utf8_count": count,
                        "non_utf8_samples": samples,
                    }
                )
    raise NotACsvFile(f"The file's text encoding could not be read ({last_error}). Save it as CSV UTF-8.")


def _info(
    fileobj: IO[bytes], head: bytes, encoding: str, *, max_columns: int | None, max_line_bytes: int | None
) -> FileInfo:
    sample = _decode_sample(head, "utf-8" if encoding == MIXED else encoding).lstrip("\ufeff")
    first_line = sample.splitlines(keepends=True)[0] if sample else ""
    delimiter = sep_line_delimiter(first_line)
    if delimiter is None:
        delimiter = sniff_delimiter(sample)
    headers, row_count = _count(fileobj, encoding, delimiter, max_columns, max_line_bytes)
    if not headers:
        raise NotACsvFile("The file has no header row: its first line should name the columns.")
    if row_count == 0:
        raise NotACsvFile("The file has a header row but no data rows below it.")
    return FileInfo(encoding=encoding, delimiter=delimiter, headers=headers, row_count=row_count)


def _non_utf8_lines(
    fileobj: IO[bytes], max_line_bytes: int | None
) -> tuple[tuple[int, ...], int, tuple[str, ...]]:
    """For a file that is not all UTF-8: its first lines that are not, how many there are, and
    the first few as they read in Windows-1252 — or nothing when no line has a UTF-8 accent (the
    whole file is another encoding)."""
    fileobj.seek(0)
    raw = io.BufferedReader(_GuardedReader(fileobj, max_line_bytes=max_line_bytes), READ_CHUNK)
    bad: list[int] = []
    samples: list[str] = []
    count = 0
    utf8_accents = False
    for number, line in enumerate(raw, start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            count += 1
            if len(bad) < NON_UTF8_LINES_KEPT:
                bad.append(number)
            if len(samples) < NON_UTF8_SAMPLES_KEPT:
                text = _decode_line(line, first=False).rstrip("\r\n")
                samples.append(
                    text[:NON_UTF8_SAMPLE_CHARS] + ("…" if len(text) > NON_UTF8_SAMPLE_CHARS else "")
                )
        else:
            utf8_accents = True
    return (tuple(bad), count, tuple(samples)) if utf8_accents else ((), 0, ())


def _decode_sample(head: bytes, encoding: str) -> str:
    # The sample may end inside a multi-byte character; only the delimiter is guessed from it.
    return head.decode(encoding, errors="replace")


def _count(
    fileobj: IO[bytes],
    encoding: str,
    delimiter: str,
    max_columns: int | None = None,
    max_line_bytes: int | None = None,
) -> tuple[list[str], int]:
    headers: list[str] = []
    rows = 0
    reader, skipped = _reader(fileobj, encoding, delimiter, max_line_bytes)
    try:
        for cells in reader:
            if is_blank(cells):
                continue
            if not headers:
                headers = clean_headers(cells)
                if max_columns is not None and len(headers) > max_columns:
                    raise NotACsvFile(
                        f"This file has {len(headers):,} columns; Cadence imports at most {max_columns:,}. "
                        "Remove the columns you don't need and upload again."
                    )
                continue
            rows += 1
    except csv.Error as exc:
        raise NotACsvFile(
            f"The file could not be read near line {reader.line_num + skipped} ({exc}). A value there probably "
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
