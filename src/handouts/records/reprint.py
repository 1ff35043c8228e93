"""`handouts recall --reprint`: each outdated document printed again, as it was printed
(document, language, paper or sheet, second language, large print), through the batch:
the same folders as `handouts batch --patients` (so a patient's new paper replaces the
old file), the same manifests and incremental rebuilds, and each print recorded with
the channel "recall" (it replaces the outdated print in the record)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import batch, registry
from ..batch import PATIENTS_DIR, Job, patient_folders
from ..request import Request, resolve

if TYPE_CHECKING:
    from ..content import ContentModel
    from .recalls import Reprint
    from .recorder import Recorder

ORIGIN = "recall"


def plan(reprints: list[Reprint], root: Path, model: ContentModel, file_names: str = "full") -> list[Job]:
    """The batch jobs of a reprint: a patient's document into the patient's folder (named
    as `handouts batch --file-names` named it), the cards that were on a sheet on one
    sheet per sheet and language, stock into its language's folder. Each is resolved as
    the command line resolves it."""
    people = list(dict.fromkeys(r.patient for r in reprints if r.patient is not None))
    folders = patient_folders(list(enumerate(people)), file_names)
    folder_of = {p: folders[i] for i, p in enumerate(people)}
    jobs: list[Job] = []
    sheets: dict[tuple[str, str, str, str | None], list[Any]] = {}
    for r in reprints:
        spec = registry.get(r.document)
        if r.paper in spec.sheets:
            sheets.setdefault((r.document, r.paper, r.locale, r.also), []).append(r.patient)
            continue
        res = resolve(Request(r.document, r.locale, r.paper, also=r.also, large_print=r.large_print,
                              patient=r.patient, patient_where=ORIGIN), model)
        if r.patient is None:
            rel = f"{res.locale}/{res.file_name}"
        else:
            rel = f"{PATIENTS_DIR}/{folder_of[r.patient]}/{res.plain_name}"
        jobs.append(Job(r.document, res.locale, res.paper.name, root, rel, patient=r.patient, origin=ORIGIN,
                        also=res.also if res.also != res.locale else None, large_print=res.large_print))
    for (document, sheet, locale, also), group in sorted(sheets.items(), key=lambda kv: kv[0][:3]):
        patients = tuple(dict.fromkeys(p for p in group if p is not None))
        res = resolve(Request(document, locale, sheet=sheet, also=also, patients=patients, list_name="recall",
                              copies=1 if patients else None), model)
        folder = PATIENTS_DIR if patients else locale
        jobs.append(Job(document, res.locale, res.paper.name, root, f"{folder}/{res.file_name}", sheet=sheet,
                        patients=patients, origin=ORIGIN, also=also))
    return jobs


def run(work: list[Job], root: Path, recorder: Recorder, jobs: int = 0, on_result=None) -> list[batch.Result]:
    """Print a reprint's jobs (plan(); a batch into `root`) and record each as it is made."""
    from .recorder import add_batch_result, add_sheet_result

    def done(result: batch.Result) -> None:
        job = result.job
        if job.sheet and job.patients:
            add_sheet_result(recorder, result)
        else:
            add_batch_result(recorder, result, recorder.who(job.patient))
        if on_result is not None:
            on_result(result)

    return batch.run(batch.Plan(root, work), jobs=jobs, on_result=done)
