"""Patient keys: who a printed document was for, without the patient's name.

A medical record number is the key when the input has one ("mrn:<system>|<value>"):
stable across visits and what the clinic already uses to find a patient. Otherwise the
key is an HMAC-SHA256 of the patient's fields ("keyed:<hex>") under a secret that stays
with the clinic (the key file): the record alone cannot be used to confirm a guessed
name, and the same patient typed the same way gets the same key on every computer that
shares the key file. Any change to those fields makes a new key; the SECURITY.md
section "The print record" says what that means and why an MRN is better.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import HandoutsError

if TYPE_CHECKING:
    from ..patient import Patient

KEY_BYTES = 32
MRN_MAX = 64
MRN_SYSTEM_MAX = 90
# The fields that say who the patient is; the language is a preference, not identity.
IDENTITY_FIELDS = ("name", "first_dose", "oncologist", "phone", "treatment_center")
_FINGERPRINT_MESSAGE = b"handouts print record: key check"


@dataclass(frozen=True)
class PatientKey:
    value: str
    kind: str  # "mrn" | "keyed"

    @property
    def short(self) -> str:
        """How a table shows the key: an MRN as it is, a keyed digest by its first 12 hex."""
        return self.value if self.kind == "mrn" else self.value[:len("keyed:") + 12]


def mrn_key(value: str, system: str | None = None) -> PatientKey:
    """An MRN, qualified by the system that assigned it (two hospitals sharing a
    PostgreSQL record may both have a patient 12345)."""
    value = value.strip()
    if not value or any(not ch.isprintable() for ch in value) or "|" in value or len(value) > MRN_MAX:
        raise HandoutsError("record.mrn_format", "mrn", {"min": 1, "max": MRN_MAX})
    system = (system or "").strip()
    if len(system) > MRN_SYSTEM_MAX or "|" in system:
        raise HandoutsError("record.mrn_system", "mrn", {"max": MRN_SYSTEM_MAX})
    return PatientKey(f"mrn:{system}|{value}", "mrn")


def _canonical(patient: Patient) -> bytes:
    fields = {}
    for name in IDENTITY_FIELDS:
        value = getattr(patient, name)
        if value is None:
            continue
        if name == "phone":
            value = "".join(ch for ch in value if ch.isdigit() or ch == "+")
        elif name == "first_dose":
            value = value.isoformat()
        else:
            value = " ".join(str(value).casefold().split())
        fields[name] = value
    return json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8")


def keyed_digest(patient: Patient, secret: bytes) -> PatientKey:
    if len(secret) < KEY_BYTES:
        raise HandoutsError("record.key_too_short", "key_file", {"min": KEY_BYTES})
    return PatientKey("keyed:" + hmac.new(secret, _canonical(patient), hashlib.sha256).hexdigest(), "keyed")


def patient_key(patient: Patient, secret: bytes | None, mrn: str | None = None,
                mrn_system: str | None = None) -> PatientKey:
    """The MRN when there is one, else the keyed digest of the patient's fields."""
    if mrn:
        return mrn_key(mrn, mrn_system)
    if secret is None:
        raise HandoutsError("record.key_needed", "key_file")
    return keyed_digest(patient, secret)


def fingerprint(secret: bytes) -> str:
    """Stored in the record: a different key file is noticed, the key is not revealed."""
    return hmac.new(secret, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:32]


def load_key(path: Path, create: bool = True, field: str = "key_file") -> bytes:
    """The clinic's record key (hex on one line). Created (owner-only, 0600) when missing
    and `create`; refused when anyone but the owner and group can read or write it."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        if not create:
            raise HandoutsError("record.key_missing", field, {"path": path}) from None
        return _create_key(path, field)
    except OSError as exc:
        raise HandoutsError("file.unreadable", field, {"path": path, "reason": exc.strerror or exc}) from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise HandoutsError("file.not_regular", field, {"path": path})
        if st.st_mode & 0o027:
            raise HandoutsError("record.key_open", field, {"path": path, "mode": f"{stat.S_IMODE(st.st_mode):04o}",
                                                           "command": f"chmod 600 {path}"})
        data = fh.read(1024)
    try:
        secret = bytes.fromhex(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise HandoutsError("record.key_format", field, {"path": path}) from None
    if len(secret) < KEY_BYTES:
        raise HandoutsError("record.key_short", field, {"path": path, "bytes": len(secret), "min": KEY_BYTES})
    return secret


def _create_key(path: Path, field: str) -> bytes:
    secret = secrets.token_bytes(KEY_BYTES)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:  # another process made it first: use that one
        return load_key(path, create=False, field=field)
    except OSError as exc:
        raise HandoutsError("output.cannot_create", field, {"path": path, "reason": exc.strerror or exc}) from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret.hex() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return secret
