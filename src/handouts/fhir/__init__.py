"""FHIR R4 in and out: patients from a Bundle (bundle_in), a DocumentReference per
printed document (docref). fhir.resources' R4B models do the parsing and validation."""

from __future__ import annotations

from .bundle_in import BundleRows, ImportedPatient, parse_bundle, read_bundle
from .docref import Subject, document_reference, write

__all__ = ["BundleRows", "ImportedPatient", "Subject", "document_reference", "parse_bundle", "read_bundle", "write"]
