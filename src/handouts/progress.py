"""Batch progress: a live bar (done, rate, time left) on a terminal, plain lines
otherwise, and a summary table. Lines show document, locale and paper only: never a
patient's name or folder."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table


class Reporter:
    def __init__(self, total: int, as_json: bool = False):
        self.total = total
        self.as_json = as_json
        self.err = Console(stderr=True)
        self.out = Console()
        self.live = self.err.is_terminal and not as_json
        self.done = 0
        self.t0 = time.perf_counter()
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self):
        if self.live:
            self._progress = Progress(
                TextColumn("rendering"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=self.err)
            self._progress.__enter__()
            self._task = self._progress.add_task("batch", total=self.total, rate="")
        return self

    def __exit__(self, *exc):
        if self._progress:
            self._progress.__exit__(*exc)

    def update(self, result) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.t0
        rate = f"{self.done / elapsed:.1f} docs/s" if elapsed > 0 else ""
        if self._progress:
            assert self._task is not None  # added with the progress bar
            self._progress.update(self._task, advance=1, rate=rate)
        elif not self.as_json:
            tail = f": {result.error}" if result.error else ""
            print(f"[{self.done}/{self.total}] {result.status} {result.job.label}{tail}",
                  file=sys.stderr, flush=True)

    def summary(self, results, bad_rows: list[str], moved_aside: Sequence[str] = ()) -> None:
        from .batch import as_dict, summary_counts
        counts = summary_counts(results)
        counts["seconds"] = round(time.perf_counter() - self.t0, 2)
        counts["bad_rows"] = len(bad_rows)
        counts["moved_aside"] = len(moved_aside)
        if self.as_json:
            print(json.dumps({"summary": counts, "results": [as_dict(r) for r in results]},
                             default=str, indent=2))
            return
        if counts["built"] == 0 and counts["failed"] == 0 and results:
            self.out.print("nothing to do: every file is up to date", markup=False, highlight=False)
        table = Table(title="handouts batch")
        for col in ("files", "built", "unchanged", "pages", "failures", "bad rows", "seconds"):
            table.add_column(col, justify="right")
        table.add_row(*(str(counts[k]) for k in ("files", "built", "unchanged", "pages", "failed",
                                                  "bad_rows", "seconds")))
        self.out.print(table)
        if moved_aside:
            folders = sorted({m.rsplit("/", 1)[0] for m in moved_aside})
            self.out.print(f"moved aside: {len(moved_aside)} earlier pack(s) or sheet(s) that corrected rows replace, "
                           f"into {', '.join(folders)}", markup=False, highlight=False)
        for r in results:
            if r.status == "failed":
                # Plain text: a list's name is not rich markup ("[/x].csv" must not raise).
                self.out.print(f"failed: {r.job.label}: {r.error}", markup=False, highlight=False)
