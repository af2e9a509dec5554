"""Reading uploaded files: every kind of CSV people export is read right, and files that are
not CSV are refused with a message that says what to do."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from engage.imports.parsing import NotACsvFile, inspect, iter_rows, sniff_delimiter

FILES = Path(__file__).parent / "files"


def rows_of(data: bytes) -> tuple[object, list[tuple[int, list[str]]]]:
    info = inspect(io.BytesIO(data))
    return info, list(iter_rows(io.BytesIO(data), encoding=info.encoding, delimiter=info.delimiter))


def test_utf8_with_a_byte_order_mark_loses_the_mark():
    info, rows = rows_of("\ufeffEmail,First Name\r\nzoe@example.com,Zoë\r\n".encode())
    assert info.encoding == "utf-8-sig"
    assert info.headers == ["Email", "First Name"]  # not "\ufeffEmail"
    assert rows == [(2, ["zoe@example.com", "Zoë"])]


def test_utf8_without_a_mark():
    info, rows = rows_of("Email;Name\nana@example.com;Ana Müller\n".encode())
    assert info.encoding == "utf-8-sig"  # reads plain UTF-8 too
    assert rows[0][1] == ["ana@example.com", "Ana Müller"]


def test_excel_windows_1252_with_accents_and_the_euro_sign():
    data = "Email;Nom;Budget\r\nrene@example.fr;René Lefèvre;5 000 €\r\n".encode("cp1252")
    info, rows = rows_of(data)
    assert (info.encoding, info.delimiter) == ("cp1252", ";")
    assert rows == [(2, ["rene@example.fr", "René Lefèvre", "5 000 €"])]


def test_latin1_when_windows_1252_cannot_decode_it():
    # 0x81 is undefined in Windows-1252, so only Latin-1 reads this file.
    data = b"Email,Note\nx@example.com,caf\xe9 \x81\n"
    info, rows = rows_of(data)
    assert info.encoding == "latin-1"
    assert rows[0][1] == ["x@example.com", "café \x81"]


def test_an_accent_far_down_the_file_decides_the_encoding():
    lines = (
        [b"Email,Name"]
        + [b"p%d@example.com,Plain" % i for i in range(5000)]
        + ["z@example.com,Zoé".encode("cp1252")]
    )
    info, rows = rows_of(b"\n".join(lines) + b"\n")
    assert info.encoding == "cp1252"
    assert rows[-1][1] == ["z@example.com", "Zoé"]


def test_tab_separated():
    info, rows = rows_of(b"Email\tCompany\nt@example.com\tTabs, Inc.\n")
    assert info.delimiter == "\t"
    assert rows[0][1] == ["t@example.com", "Tabs, Inc."]


def test_semicolons_with_commas_in_the_data():
    info, _ = rows_of(b"Email;Company;City\na@example.com;Smith, Jones & Co;Bonn\nb@example.com;X, Y;Z\n")
    assert info.delimiter == ";"


def test_quoted_fields_keep_line_breaks_and_delimiters_and_rows_are_numbered_by_record():
    data = b'Email,Street,Name\r\na@example.com,"1 Main St\r\nSuite 5, Floor 2",Ann\r\nb@example.com,"2 Side St",Bob\r\n'
    info, rows = rows_of(data)
    assert info.row_count == 2
    assert rows == [
        (2, ["a@example.com", "1 Main St\r\nSuite 5, Floor 2", "Ann"]),
        (3, ["b@example.com", "2 Side St", "Bob"]),
    ]


def test_blank_lines_are_skipped_and_not_counted():
    data = b"\n\nEmail,Name\n\na@example.com,Ann\n,\n  \n , \nb@example.com,Bob\n\n"
    info, rows = rows_of(data)
    assert info.headers == ["Email", "Name"]
    assert info.row_count == 2
    assert [number for number, _ in rows] == [2, 3]


def test_salesforce_report_export():
    info, rows = rows_of((FILES / "salesforce_report.csv").read_bytes())
    assert info.delimiter == ","
    assert info.headers[3] == "Company / Account"
    assert rows[0][1][3] == "Analytical Engines, Ltd."  # the quoted comma stays in the value
    assert info.row_count == 3


def test_data_loader_export():
    info, rows = rows_of((FILES / "data_loader_leads.csv").read_bytes())
    assert info.headers[:3] == ["ID", "FIRSTNAME", "LASTNAME"]
    assert info.row_count == 2
    assert rows[1][1][:3] == ["00Q5g00000XyZaBCDF", "Niels", "Bohr"]


def test_utf16_unicode_text_from_excel_is_read():
    info, rows = rows_of("Email\tName\r\nu@example.com\tÜmit\r\n".encode("utf-16"))
    assert (info.encoding, info.delimiter) == ("utf-16", "\t")
    assert rows == [(2, ["u@example.com", "Ümit"])]


def test_unnamed_header_cells_get_a_name_and_trailing_empty_ones_go():
    info, _ = rows_of(b"Email,,Name,,\na@example.com,x,Ann,,\n")
    assert info.headers == ["Email", "Column 2", "Name"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"PK\x03\x04\x14\x00\x06\x00rest-of-a-zip", "Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1legacy-xls", "Excel workbook"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b"Email,Name\n", "no data rows"),
        (b"\n\n  \n,,\n", "no header row"),
        (b'Email,Name\na@example.com,"Ann\nb@example.com,Bob\n', "closing it"),
    ],
    ids=["empty", "xlsx", "xls", "binary", "header-only", "blank-only", "unclosed-quote"],
)
def test_files_that_cannot_be_imported_say_why(data, message):
    with pytest.raises(NotACsvFile, match=message):
        inspect(io.BytesIO(data))


def test_a_nul_byte_deep_in_the_file_is_caught():
    data = b"Email,Name\n" + b"a@example.com,Ann\n" * 10_000 + b"b@example.com,\x00\x00\n"
    with pytest.raises(NotACsvFile, match="binary data"):
        inspect(io.BytesIO(data))


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("Email\nann@example.com\n", ","),  # one column: nothing to sniff
        ('"Email","Company"\n"a@example.com","A; B"\n', ","),
        ("Email;Company\na@example.com;A, B\nb@example.com;C, D\n", ";"),
        ("Email\tName\n", "\t"),
    ],
)
def test_delimiter_sniffing(sample, expected):
    assert sniff_delimiter(sample) == expected
