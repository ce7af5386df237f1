"""The roles an API key grants: a domain value that schemas, services and routes all name."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"  # everything
    kiosk = "kiosk"  # check-in and verify only
    viewer = "viewer"  # read attendance
