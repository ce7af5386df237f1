"""Response bodies of the timetable's endpoints (series of class sessions)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from app.core.domain import SERIES_EXAMPLE, Weekday


class SeriesOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [{"id": 4, **SERIES_EXAMPLE, "sessions": 27}]},
    )

    id: int
    name: str
    course_id: int | None
    weekdays: list[Weekday]
    starts_time: dt.time = Field(description="Wall-clock time in `timezone`.")
    ends_time: dt.time
    timezone: str
    grace_minutes: int | None
    room: str | None
    first_date: dt.date
    last_date: dt.date
    skip_dates: list[dt.date]
    sessions: int = Field(0, description="The sessions the series holds now.")


class SeriesChangeOut(BaseModel):
    """What a change to a series did to its sessions."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "series": {"id": 4, **SERIES_EXAMPLE, "sessions": 27},
                    "sessions_created": 27,
                    "sessions_updated": 0,
                    "sessions_deleted": 0,
                    "sessions_kept": 0,
                }
            ]
        }
    )

    series: SeriesOut
    sessions_created: int
    sessions_updated: int = Field(0, description="Kept their id and marks, took the changes.")
    sessions_deleted: int = 0
    sessions_kept: int = Field(
        0,
        description="PATCH: sessions on days no longer in the pattern that hold marks, left "
        "as they were; DELETE: sessions begun or holding marks, left as sessions made alone.",
    )
