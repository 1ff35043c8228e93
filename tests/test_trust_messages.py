"""Messages that said the wrong thing: each input gets the message that names what is
actually wrong (and the field), exit code 2 on the command line, never an engine failure,
an internal error or a misleading "no such file"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from handouts import output
from handouts.errors import HandoutsError
from tests.helpers import assert_one_line_error, run

HEADER = "name,first_dose,oncologist,phone,treatment_center,locale\n"


# -- file names: limited in bytes, and blamed on themselves ------------------------------

def test_a_long_list_name_in_four_byte_characters_still_makes_its_sheet(capsys, tmp_path):
    csv = tmp_path / ("\U00020000" * 50 + ".csv")  # 200 bytes of name
    csv.write_text(HEADER + "Ann,2026-12-01,,,,en\n")
    code, out, err = run(capsys, "build", "wallet-card", "--sheet", "letter-8up", "--patients", csv,
                         "--bleed", "2.5", "--copies", "3", "--duplex-offset", "0.5,-1", "--also", "zh-Hant",
                         "--out", tmp_path / "o")
    assert code == 0, err
    name = Path(out.strip()).name
    assert len(name.encode()) + output.TEMP_OVERHEAD <= output.MAX_NAME_BYTES


def test_a_file_name_too_long_names_the_file_not_the_output_folder(tmp_path):
    with pytest.raises(HandoutsError) as err:
        output.OutputDir(tmp_path).write("a" * 240 + ".pdf", b"%PDF")
    assert err.value.code == "output.name_too_long" and not err.value.subject, err.value.one_line()
    assert "244 bytes" in err.value.one_line()
    assert list(tmp_path.iterdir()) == []


# -- options ---------------------------------------------------------------------------

@pytest.mark.parametrize("option,value", [("--duplex-offset", "nan,0"), ("--duplex-offset", "0,NaN"),
                                          ("--bleed", "nan")])
def test_not_a_number_is_the_options_error_not_an_engine_failure(capsys, tmp_path, option, value):
    code, out, err = run(capsys, "build", "wallet-card", "--sheet", "letter-8up", "--sample", option, value,
                         "--out", tmp_path / "o")
    assert_one_line_error(code, out, err, option, tmp_path / "o")
    assert "engine" not in err


def test_a_locale_beside_all_locales_is_checked(capsys, tmp_path):
    assert_one_line_error(*run(capsys, "batch", "--locale", "xx", "--all-locales", "--out", tmp_path / "o"),
                          "unknown locale 'xx'", tmp_path / "o")
    assert_one_line_error(*run(capsys, "batch", "--locale", "en", "--all-locales", "--out", tmp_path / "o"),
                          "--all-locales", tmp_path / "o")


# -- dates -----------------------------------------------------------------------------

@pytest.mark.parametrize("date", ["２０２６-１２-０１", "٢٠٢٦-١٢-٠١", "۲۰۲۶-۱۲-۰۱", "2026-12-0１"])
def test_other_digits_in_a_date_ask_for_ascii_digits(capsys, tmp_path, date):
    p = tmp_path / "p.toml"
    p.write_text(f'first_dose = "{date}"\n', encoding="utf-8")
    code, out, err = run(capsys, "build", "handout", "--patient", p, "--out", tmp_path / "o")
    assert_one_line_error(code, out, err, "p.toml: first_dose: write the date with the digits 0-9", tmp_path / "o")
    csv = tmp_path / "today.csv"
    csv.write_text(f"name,first_dose\nAnn,{date}\n", encoding="utf-8")
    code, out, err = run(capsys, "build", "wallet-card", "--sheet", "letter-8up", "--patients", csv,
                         "--out", tmp_path / "o")
    assert_one_line_error(code, out, err, "today.csv row 2: first_dose (column B): write the date with the digits 0-9")


# -- what a list file holds --------------------------------------------------------------

def test_a_byte_order_mark_saved_twice_is_not_part_of_the_header(capsys, tmp_path, stub_render):
    csv = tmp_path / "today.csv"
    csv.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + HEADER.encode() + b"Ann,2026-12-01,,,,en\n")
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", tmp_path / "o", "--jobs", "1")
    assert code == 0, err
    assert len(list((tmp_path / "o" / "patients").glob("Ann-*"))) == 1


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_named(capsys, tmp_path, encoding):
    csv = tmp_path / "today.csv"
    csv.write_bytes((HEADER + "Ann,2026-12-01,,,,en\n").encode(encoding))
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", tmp_path / "o")
    assert_one_line_error(code, out, err, "today.csv is UTF-16 text; save it as UTF-8", tmp_path / "o")


def test_nul_bytes_say_the_file_is_not_text(capsys, tmp_path):
    csv = tmp_path / "today.csv"
    csv.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    code, out, err = run(capsys, "batch", "--patients", csv, "--out", tmp_path / "o")
    assert_one_line_error(code, out, err, "holds NUL bytes", tmp_path / "o")


def test_a_huge_cell_is_that_fields_error_not_bad_csv(capsys, tmp_path):
    csv = tmp_path / "today.csv"
    csv.write_text("name,first_dose\n" + "A" * (128 * 1024 + 1) + ",2026-12-01\nBo,2026-12-01\n")
    code, out, err = run(capsys, "build", "wallet-card", "--sheet", "letter-8up", "--patients", csv,
                         "--out", tmp_path / "o")
    assert_one_line_error(code, out, err, "today.csv row 2: name (column A): too long: at most 120 characters")
    csv.write_text("name," + "B" * (128 * 1024 + 1) + "\nAnn,x\n")  # a heading is quoted short
    code, out, err = run(capsys, "build", "wallet-card", "--sheet", "letter-8up", "--patients", csv,
                         "--out", tmp_path / "o")
    assert_one_line_error(code, out, err, "unknown column(s) BBBB")
    assert len(err) < 400


def _special_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    fifo = tmp_path / "list.csv"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    return {"device": (Path("/dev/zero"), "is not a regular file (a device, a pipe or a socket)"),
            "fifo": (fifo, "is not a regular file (a device, a pipe or a socket)"),
            "folder": (folder, "is a folder, not a file")}


@pytest.mark.skipif(not Path("/dev/zero").exists() or not hasattr(os, "mkfifo"), reason="needs /dev/zero, FIFOs")
@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_a_device_a_fifo_or_a_folder_is_said_to_be_one(tmp_path, kind):
    """Run as a command (a FIFO opened for reading would wait for a writer for ever)."""
    path, words = _special_files(tmp_path)[kind]
    for args in (["batch", "--patients", path], ["build", "wallet-card", "--sheet", "letter-8up", "--patients", path],
                 ["build", "handout", "--patient", path]):
        res = subprocess.run([sys.executable, "-m", "handouts", *map(str, args), "--out", str(tmp_path / "o")],
                             capture_output=True, text=True, timeout=60)
        option = "--patient:" if args[-2] == "--patient" else "--patients:"
        assert_one_line_error(res.returncode, res.stdout, res.stderr, f"{option} {path} {words}", tmp_path / "o")
        assert "no such file" not in res.stderr
