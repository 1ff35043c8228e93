"""The clinic's settings for the print record and the FHIR interface: a TOML file at
$HANDOUTS_CONFIG, else $XDG_CONFIG_HOME/handouts/config.toml (~/.config/handouts/).
Every setting is optional; a missing file means the defaults.

    [record]
    url = "/var/lib/handouts/record.sqlite3"   # or postgresql://handouts@db.example/handouts
    key_file = "/etc/handouts/record.key"      # the patient-key secret; stays with the clinic
    keep_patient_details = false               # true: keep what a reprint needs (names too)

    [fhir]
    attachment = "embed"                        # or "url": hash and size, and url_base + file
    url_base = "https://docs.example.org/handouts/"
    identifier_system = "urn:oid:2.16.840.1.113883.3.9999.1"  # the clinic's document ids
    rxnorm = ["..."]                            # RxNorm codes the EHR uses for the drug
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field

from ..errors import HandoutsError
from ..models import Strict, load_toml

ENV = "HANDOUTS_CONFIG"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "handouts"


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "handouts"


class RecordSettings(Strict):
    url: str | None = None  # None: data_dir()/record.sqlite3
    key_file: Path | None = None  # None: config_dir()/record.key
    keep_patient_details: bool = False

    def target(self) -> str:
        return self.url or str(data_dir() / "record.sqlite3")

    def key_path(self) -> Path:
        return self.key_file or config_dir() / "record.key"


class FhirSettings(Strict):
    attachment: Literal["embed", "url"] = "embed"
    url_base: str | None = None
    identifier_system: str = "urn:handouts:document-id"
    rxnorm: list[str] = Field(default_factory=list)
    ndc: list[str] = Field(default_factory=list)


class Settings(Strict):
    record: RecordSettings = RecordSettings()
    fhir: FhirSettings = FhirSettings()


def path() -> Path:
    env = os.environ.get(ENV, "").strip()
    return Path(env).expanduser() if env else config_dir() / "config.toml"


def load(file: Path | None = None) -> Settings:
    file = file or path()
    if not file.exists():
        if os.environ.get(ENV, "").strip() and file == path():
            raise HandoutsError("file.missing", ENV, {"path": file})
        return Settings()
    if file.is_dir():
        raise HandoutsError("file.is_folder", ENV if os.environ.get(ENV, "").strip() else "settings", {"path": file})
    settings = load_toml(file, Settings, where=str(file))
    if settings.fhir.attachment == "url" and not settings.fhir.url_base:
        raise HandoutsError("config.url_base", "fhir.url_base", where=str(file))
    return settings
