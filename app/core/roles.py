"""The roles an API key grants, and who a request's key is: domain values that schemas,
services and routes all name."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"  # everything
    kiosk = "kiosk"  # check-in and verify only
    viewer = "viewer"  # read attendance
    teacher = "teacher"  # read and correct the attendance of its own courses


# The bootstrap admin key (ROLLCALL_ADMIN_KEY) has no row: the audit trail names it so.
BOOTSTRAP_KEY_NAME = "bootstrap admin key"


@dataclass(frozen=True)
class Caller:
    """The key behind a request: its role, its row (None: the bootstrap admin key), and for a
    teacher key the courses it may see (None: every course)."""

    role: Role
    key_id: int | None = None
    key_name: str = BOOTSTRAP_KEY_NAME
    course_ids: frozenset[int] | None = None


OPERATOR = Caller(Role.admin, None, "operator (command line)")  # the CLI, which presents no key
