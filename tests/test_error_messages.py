"""Errors are codes with a field and params; their words come from the `errors` gettext
catalogs (gated like every catalog), in the reader's language; nothing reads the words.
And each bad input gets the message that names what is actually wrong."""

from __future__ import annotations

import ast
import datetime as dt
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from handouts import catalogs, errors, locales, output, paths
from handouts.errors import MESSAGES, CatalogError, HandoutsError, LayoutOverflow
from tests.helpers import SRC, assert_one_line_error, run

TRANSLATED = [c for c, s in locales.available().items() if s.catalog]
ERROR_CLASSES = {"HandoutsError", "LayoutOverflow", "EngineError", "CatalogError", "Interrupted", "MissingGlyph",
                 "TextRefused"}
# Modules whose maintainer-facing errors (a broken data file, a layout asking for an
# unprintable fact) are still built the old way, HandoutsError(field, message): their
# words print unchanged. Their owners convert them.
LEGACY = {"content.py", "models.py", "locales.py", "fonts.py", "documents/poster.py"}


def _error_calls():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name in ERROR_CLASSES and node.args:
                    yield rel, node.lineno, node.args[0]


def test_every_error_raised_names_a_known_code():
    used = set()
    for rel, line, first in _error_calls():
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            if rel in LEGACY and first.value not in MESSAGES:
                continue
            assert first.value in MESSAGES, f"{rel}:{line}: unknown error code {first.value!r}"
            used.add(first.value)
    source = "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py"))
    unused = [code for code in MESSAGES if code not in used and f'"{code}"' not in source]
    assert not unused, f"codes nothing raises: {unused}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_error_catalog_is_complete_and_safe(code):
    po = catalogs.catalog_path(code, errors.DOMAIN)
    assert po.is_file()
    assert catalogs.problems(po, catalogs.template_path(errors.DOMAIN)) == []
    t = catalogs.translations(code, errors.DOMAIN)
    assert t.gettext(MESSAGES["file.missing"]) != MESSAGES["file.missing"]


def test_error_template_is_up_to_date(tmp_path):
    """locales/errors.pot equals a fresh extraction of errors.MESSAGES."""
    out = tmp_path / "fresh.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "--no-default-keywords", "-k", "E_",
                    "--no-location", "--omit-header", "--sort-output", "-o", str(out), "src/handouts/errors.py"],
                   cwd=paths.resource_root(), check=True, capture_output=True)
    assert out.read_text(encoding="utf-8") == catalogs.template_path(errors.DOMAIN).read_text(encoding="utf-8"), \
        "locales/errors.pot is stale: run `make catalogs`"


@pytest.mark.parametrize("change,kind", [
    (lambda m: setattr(m, "string", ""), "untranslated"),
    (lambda m: m.flags.add("fuzzy"), "fuzzy"),
    (lambda m: setattr(m, "string", m.string.replace("%(max)s", "%(limit)s")), "placeholders"),
    (lambda m: setattr(m, "string", m.string.replace("%(max)s", "%(max)s 120")), "digits"),
])
def test_the_gates_apply_to_the_error_domain(tmp_path, monkeypatch, change, kind):
    with catalogs.catalog_path("zh-Hans", errors.DOMAIN).open("rb") as fh:
        cat = read_po(fh)
    change(next(m for m in cat if m.id == MESSAGES["patient.too_long"]))
    bad = tmp_path / "LC_MESSAGES" / "errors.po"
    bad.parent.mkdir()
    with bad.open("wb") as fh:
        write_po(fh, cat)
    assert any(p.startswith(kind) for p in catalogs.problems(bad, catalogs.template_path(errors.DOMAIN)))
    monkeypatch.setattr(catalogs, "catalog_path", lambda code, domain="handouts": bad)
    catalogs.translations.cache_clear()
    try:
        with pytest.raises(CatalogError):
            catalogs.translations("zh-Hans", errors.DOMAIN)
    finally:
        catalogs.translations.cache_clear()


def _strings(code: str) -> str:
    with catalogs.catalog_path(code, errors.DOMAIN).open("rb") as fh:
        return "\n".join(m.string for m in read_po(fh) if m.id)


def test_zh_hant_is_taiwan_usage_and_zh_hans_mainland_usage():
    hant, hans = _strings("zh-Hant"), _strings("zh-Hans")
    for mainland in ("打印", "文件夹", "字段", "字符", "默认", "支持", "信息", "表头", "电子表格", "创建"):
        assert mainland not in hant, mainland
    for word in ("列印", "檔案", "資料夾", "欄位", "字元", "標題列", "試算表", "病人", "仿單"):
        assert word in hant, word
    for word in ("打印", "文件", "文件夹", "字段", "字符", "表头", "患者", "说明书"):
        assert word in hans, word
    for taiwan in ("列印", "檔案", "資料", "欄位", "字元", "病人", "仿單"):
        assert taiwan not in hans, taiwan


def _before_approval() -> HandoutsError:
    return HandoutsError("first_dose.before_approval", "first_dose",
                         {"date": dt.date(2020, 1, 2), "approved": dt.date(2024, 5, 16)}, where="list.csv row 3")


def test_an_error_in_each_language():
    err = _before_approval()
    assert err.one_line() == "list.csv row 3: first_dose: 2020-01-02 is before the drug was approved (2024-05-16)"
    assert err.one_line("zh-Hans") == "list.csv row 3: first_dose: 2020-01-02 早于该药获批日期（2024-05-16）"
    assert err.one_line("zh-Hant") == "list.csv row 3: first_dose: 2020-01-02 早於本藥核准日期（2024-05-16）"
    assert err.one_line("en") == err.one_line()


def test_params_that_are_words_lists_or_errors_are_said_in_the_language():
    from handouts.errors import Phrase
    refused = HandoutsError("text.refused_character", "name", {"kind": Phrase("a control character"),
                                                                "char": "U+0000"})
    assert refused.render("zh-Hant") == "含有控制字元（U+0000）；請去掉後重新輸入"
    listed = HandoutsError("list.duplicate_columns", "header", {"columns": ["name", "phone"]})
    assert listed.render() == "column(s) name, phone given twice"
    assert listed.render("zh-Hans") == "列 name、phone 重复出现"
    more = HandoutsError("list.bad_rows", "name", {"first": refused, "more": 2})
    assert more.render("zh-Hant") == "含有控制字元（U+0000）；請去掉後重新輸入（另有 2 列有誤）"


def test_an_error_survives_a_trip_to_a_worker_process():
    err = LayoutOverflow("layout.overflow", "name", {"width": "40", "height": "5", "min": "7"},
                         where="list.csv row 4", label="wallet card front name (en)")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is LayoutOverflow
    assert (back.code, back.field, back.where, back.label, back.params) == \
        (err.code, err.field, err.where, err.label, err.params)
    assert back.one_line("zh-Hans") == err.one_line("zh-Hans")


def test_reporting_never_fails():
    """A message whose params do not match still gives a line (not a second exception)."""
    err = HandoutsError("first_dose.before_approval", "first_dose", {"date": "x"})
    assert "first_dose" in err.one_line() and "before the drug" in err.one_line()


def test_an_old_style_error_keeps_its_words():
    err = HandoutsError("model.toml: facts.x", "is secondary, not verified")
    assert err.one_line() == "model.toml: facts.x: is secondary, not verified"
    assert err.one_line("zh-Hans") == err.one_line()


# -- the command line ---------------------------------------------------------------

def _cli(capsys, *args):
    from handouts.cli import main
    code = main(list(args))
    return code, capsys.readouterr().err


def test_the_command_line_speaks_english_unless_a_language_is_chosen(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("HANDOUTS_LANG", raising=False)
    missing = str(tmp_path / "none.toml")
    code, err = _cli(capsys, "build", "handout", "--patient", missing, "--out", str(tmp_path))
    assert code == 2 and err == f"handouts: error: --patient: no such file: {missing}\n"
    code, err = _cli(capsys, "--lang", "zh-Hant", "build", "handout", "--patient", missing, "--out", str(tmp_path))
    assert code == 2 and err == f"handouts: error: --patient: 找不到檔案：{missing}\n"
    monkeypatch.setenv("HANDOUTS_LANG", "zh-Hans")
    code, err = _cli(capsys, "build", "handout", "--patient", missing, "--out", str(tmp_path))
    assert code == 2 and err == f"handouts: error: --patient: 找不到文件：{missing}\n"
    # The document's locale is the patient's language, not the reader's.
    monkeypatch.delenv("HANDOUTS_LANG")
    code, err = _cli(capsys, "build", "handout", "--locale", "zh-Hans", "--patient", missing, "--out", str(tmp_path))
    assert "no such file" in err


def test_an_unknown_message_language_is_refused(capsys, tmp_path):
    code, err = _cli(capsys, "--lang", "fr", "list")
    from handouts import locales
    every = ", ".join(locales.available())
    assert code == 2 and err == f"handouts: error: --lang: unknown language 'fr' for messages; available: {every}\n"


# -- the web page: by code, never by words -------------------------------------------

def test_the_page_reads_codes_not_words(monkeypatch):
    """Reword every English message: the page still marks the right field and words it
    in its own language."""
    from handouts.web import core, i18n
    for code in MESSAGES:
        monkeypatch.setitem(MESSAGES, code, "something else entirely")
    p = core.problem(_before_approval())
    assert p.field == "first_dose"
    assert i18n.problem_text("zh-Hant", p).startswith("這個日期早於")
    glyph = HandoutsError("font.missing_glyphs", "name", {"locale": "en", "shown": "'\U0003134a'",
                                                          "chars": "\U0003134a"}, where="form")
    assert core.problem(glyph).field == "name"
    assert "\U0003134a" in i18n.problem_text("zh-Hans", core.problem(glyph))
    overflow = LayoutOverflow("layout.overflow", "treatment_center", {"width": "1", "height": "1", "min": "7"},
                              where="form", label="wallet card back center (en)")
    assert core.problem(overflow).field == "treatment_center"


def test_an_error_the_page_has_no_words_for_is_in_the_pages_language():
    from handouts.web import core, i18n
    err = HandoutsError("list.duplicate_columns", "header", {"columns": ["name", "phone"]}, where="upload.csv")
    p = core.problem(err)
    assert p.field == ""
    assert i18n.problem_text("zh-Hans", p) == "此内容无法使用：列 name、phone 重复出现"
    assert i18n.error_words("en", p) == "column(s) name, phone given twice"


# Messages that said the wrong thing: each input gets the message that names what is
# actually wrong (and the field), exit code 2 on the command line, never an engine failure,
# an internal error or a misleading "no such file".

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
