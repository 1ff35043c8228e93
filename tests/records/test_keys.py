"""Patient keys (MRN or keyed digest), the clinic's key file, and document ids."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import stat

import pytest

from handouts.errors import HandoutsError
from handouts.patient import Patient
from handouts.records import docid
from handouts.records.keys import fingerprint, keyed_digest, load_key, mrn_key, patient_key

SECRET = bytes(range(32))


def _p(**kw) -> Patient:
    base = dict(name="Li Wei 李伟", first_dose="2026-12-01", oncologist="Dr. Maria Gonzalez",
                phone="+1 (555) 010-2030", treatment_center="Riverside Cancer Center", locale="zh-Hans")
    return Patient.model_validate({**base, **kw})


def test_keyed_digest_is_stable_and_keyed():
    k = keyed_digest(_p(), SECRET)
    assert k.kind == "keyed" and k.value.startswith("keyed:") and len(k.value) == len("keyed:") + 64
    assert keyed_digest(_p(), SECRET) == k
    # The same patient typed differently, or in another language, is the same patient.
    assert keyed_digest(_p(name="li  wei 李伟", phone="+1 555 010 2030", locale="en"), SECRET) == k
    # Another key, or another patient, gives another digest; no field is in it.
    assert keyed_digest(_p(), bytes(32)) != k
    for field, value in (("name", "Li Wen"), ("first_dose", "2026-12-02"), ("oncologist", "Dr. X"),
                         ("phone", "+1 555 010 2031"), ("treatment_center", "Elsewhere")):
        assert keyed_digest(_p(**{field: value}), SECRET) != k, field
    assert "Li" not in k.value and "555" not in k.value


def test_an_mrn_is_the_key_when_there_is_one():
    k = patient_key(_p(), SECRET, mrn="000123", mrn_system="urn:oid:1.2.3")
    assert k.value == "mrn:urn:oid:1.2.3|000123" and k.kind == "mrn" and k.short == k.value
    assert patient_key(_p(name="Other"), None, mrn="000123", mrn_system="urn:oid:1.2.3") == k
    assert mrn_key("000123", "urn:oid:9.9") != k  # the same number at another hospital
    for bad in ("", "a|b", "x" * 65, "tab\there"):
        with pytest.raises(HandoutsError, match="medical record number"):
            mrn_key(bad)
    with pytest.raises(HandoutsError, match="key file"):
        patient_key(_p(), None)


def test_key_file_is_made_owner_only_and_reused(tmp_path):
    path = tmp_path / "cfg" / "record.key"
    secret = load_key(path)
    assert len(secret) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_key(path) == secret and load_key(path, create=False) == secret
    assert fingerprint(secret) == fingerprint(load_key(path)) and secret.hex() not in fingerprint(secret)


def test_key_file_refusals(tmp_path):
    with pytest.raises(HandoutsError, match="no record key file"):
        load_key(tmp_path / "none", create=False)
    path = tmp_path / "k"
    path.write_text(os.urandom(32).hex() + "\n")
    for mode in (0o644, 0o604, 0o660):
        os.chmod(path, mode)
        with pytest.raises(HandoutsError, match="chmod 600"):
            load_key(path)
    os.chmod(path, 0o640)
    assert len(load_key(path)) == 32
    for content in ("not hex\n", "abcd\n"):
        path.write_text(content)
        with pytest.raises(HandoutsError, match="record key"):
            load_key(path)
    link = tmp_path / "link"
    link.symlink_to(path)
    with pytest.raises(HandoutsError, match="cannot read"):
        load_key(link)


def test_document_id_says_what_the_paper_follows(model):
    a = docid.document_id("wallet-card", "zh-Hans", model.meta.content_version, model.meta.label_revised,
                          {"patient": "x", "paper": "id1"})
    text = str(a)
    revised = model.meta.label_revised
    assert text.startswith(f"W-zh-Hans-{model.meta.content_version}-{revised.year % 100:02d}{revised.month:02d}-")
    assert len(a.digest) == docid.DIGEST_CHARS and not set(a.digest) & set("ILOU")
    assert docid.document_id("wallet-card", "zh-Hans", model.meta.content_version, revised,
                             {"paper": "id1", "patient": "x"}) == a  # order of inputs does not matter
    assert docid.document_id("wallet-card", "zh-Hans", model.meta.content_version, revised,
                             {"patient": "y", "paper": "id1"}) != a
    assert docid.parse(text) == a and docid.parse(f"  {text.lower()} ".replace("zh-hans", "zh-Hans")) == a
    assert docid.parse("W-zh-Hans-2026.11.0-2511-ILLEGAL0") is None and docid.parse("nonsense") is None


def test_every_document_has_an_id_code():
    from handouts import registry
    codes = [spec.id_code for spec in registry.DOCUMENTS.values()]
    assert all(len(c) == 1 and c.isupper() for c in codes) and len(set(codes)) == len(codes)
    assert all(docid.parse(str(docid.document_id(name, "en", "1.0", dt.date(2025, 11, 19), "00" * 32))).document
               == name for name in registry.DOCUMENTS)
    spec = registry.DOCUMENTS["poster"]
    with pytest.raises(ValueError, match="taken"):  # one letter, two documents: refused
        registry.register(dataclasses.replace(spec, name="poster-copy"))
    d = docid.document_id("poster", "en", "1.0", dt.date(2025, 11, 19), docid.inputs_digest({"a": dt.date(2026, 1, 1)}))
    assert str(d).startswith("P-en-1.0-2511-")
