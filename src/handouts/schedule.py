"""A patient's planned dates, computed from the first dose and the content model."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .content import ContentModel, ScheduleRow


@dataclass(frozen=True)
class Visit:
    cycle: int
    day: int
    date: dt.date
    row: ScheduleRow


def planned_visits(model: ContentModel, first_dose: dt.date, through_cycle: int = 3) -> list[Visit]:
    cycle_days = int(model.fact(model.roles.cycle_length).value)
    visits: list[Visit] = []
    for cycle in range(1, through_cycle + 1):
        start = first_dose + dt.timedelta(days=(cycle - 1) * cycle_days)
        for row in model.printable_schedule():
            if row.covers(cycle):
                visits.extend(Visit(cycle, day, start + dt.timedelta(days=day - 1), row)
                              for day in row.days)
    return sorted(visits, key=lambda v: v.date)
