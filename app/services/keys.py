"""API keys with roles. Keys are random 256-bit tokens, so a plain SHA-256 suffices to store
them (a slow password hash protects guessable secrets; these are not guessable)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.roles import Caller, Role
from app.core.tables import ApiKey, ApiKeyCourse, Course, as_utc, utcnow
from app.services.rows import get_or_404

KEY_PREFIX = "rc_"
# The bootstrap key's row, made when it is rotated: it records the key's end, which the settings
# cannot. Its prefix is no part of the key: a bootstrap key may be a short one of a person's.
BOOTSTRAP_NAME = "bootstrap (ROLLCALL_ADMIN_KEY)"
BOOTSTRAP_PREFIX = "bootstrap"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(name: str, role: Role) -> tuple[ApiKey, str]:
    """A new key's row (not yet added) and the key itself (never stored, shown once)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return ApiKey(name=name, role=role.value, prefix=key[:10], key_hash=hash_key(key)), key


def create_key(
    db: Session, name: str, role: Role, course_ids: list[int] | None = None
) -> tuple[ApiKey, str]:
    """A new key: the row, and the key itself (never stored, shown this once). `course_ids`:
    a teacher key's courses (only a teacher key has any)."""
    row, key = new_key(name, role)
    db.add(row)
    db.flush()
    if course_ids:
        _link_courses(db, row, course_ids)
    db.commit()
    return row, key


def set_courses(db: Session, key_id: int, course_ids: list[int]) -> ApiKey:
    """Replace a teacher key's courses."""
    row = get_key(db, key_id)
    row.course_links.clear()
    db.flush()
    _link_courses(db, row, course_ids)
    db.commit()
    db.refresh(row)
    return row


def _link_courses(db: Session, row: ApiKey, course_ids: list[int]) -> None:
    if row.role != Role.teacher:
        raise Unprocessable(
            "not_a_teacher_key", f"Only a teacher key has courses; key {row.id} is {row.role}."
        )
    wanted = sorted(set(course_ids))
    found = set(db.scalars(select(Course.id).where(Course.id.in_(wanted))))
    missing = [cid for cid in wanted if cid not in found]
    if missing:
        raise NotFound(
            "course_not_found",
            f"No course with id {', '.join(map(str, missing[:10]))}; nothing was changed.",
            course_ids=missing[:100],
        )
    row.course_links.extend(ApiKeyCourse(key_id=row.id, course_id=cid) for cid in wanted)
    db.flush()


def list_keys(db: Session) -> list[ApiKey]:
    return list(db.scalars(select(ApiKey).order_by(ApiKey.id)))


def get_key(db: Session, key_id: int) -> ApiKey:
    return get_or_404(db, ApiKey, key_id, "key_not_found", f"No API key with id {key_id}.")


def is_revoked(row: ApiKey, now: dt.datetime | None = None) -> bool:
    """Whether the key is refused: revoked, or rotated and past its grace period (its
    `revoked_at` is then the end of the grace period, in the future until it passes)."""
    return row.revoked_at is not None and as_utc(row.revoked_at) <= (now or utcnow())


def revoke_key(db: Session, key_id: int, presented_key: str | None = None) -> ApiKey:
    """Revoke a key now (one in a rotation's grace period too); revoking a revoked key changes
    nothing (its revocation time stays). Refuses to revoke `presented_key`, the key of the
    request itself (an admin locking itself out). The operator's CLI presents none."""
    row = get_key(db, key_id)
    if presented_key is not None and hmac.compare_digest(row.key_hash, hash_key(presented_key)):
        raise Conflict("own_key", "A key cannot revoke itself; revoke it with another admin key.")
    if not is_revoked(row):
        row.revoked_at = utcnow()
        db.commit()
    return row


def find_key(db: Session, id_or_name: str) -> ApiKey:
    """A key by id (a number) or by name (the one key of that name not revoked)."""
    if id_or_name.isdigit():
        return get_key(db, int(id_or_name))
    rows = list(db.scalars(select(ApiKey).where(ApiKey.name == id_or_name).order_by(ApiKey.id)))
    live = [row for row in rows if not is_revoked(row)]
    if len(live) == 1:
        return live[0]
    if len(live) > 1:
        ids = ", ".join(f"#{row.id}" for row in live)
        raise Conflict(
            "key_name_ambiguous", f"{len(live)} keys are named {id_or_name!r} ({ids}): give its id."
        )
    if rows:
        return rows[-1]  # revoked: rotate_key says so
    raise NotFound(
        "key_not_found", f"No key with name {id_or_name!r} (`rollcall keys list` lists them)."
    )


def rotate_key(db: Session, row: ApiKey, grace: dt.timedelta) -> tuple[ApiKey, str]:
    """A new key like `row` (its name, role, courses, a kiosk's staff PIN), and `row` revoked
    after `grace` (at once for none), in one transaction: the new key and the old one's end
    are written together or not at all. Returns the new row and the key (shown once)."""
    now = utcnow()
    if is_revoked(row, now):
        raise Conflict(
            "key_revoked",
            f"Key #{row.id} ({row.name}) is revoked: there is nothing to rotate; "
            "make a new one with `rollcall keys create`.",
        )
    if row.revoked_at is not None:
        ends = as_utc(row.revoked_at).strftime("%Y-%m-%d %H:%M:%S UTC")
        raise Conflict(
            "key_rotating",
            f"Key #{row.id} ({row.name}) was rotated already and ends at {ends}; rotate its "
            f"replacement, or end it now with `rollcall keys revoke {row.id}`.",
        )
    role = Role.admin if row.prefix == BOOTSTRAP_PREFIX else Role(row.role)
    name = "ops" if row.prefix == BOOTSTRAP_PREFIX else row.name
    new_row, key = new_key(name, role)
    new_row.pin_hash = row.pin_hash
    db.add(new_row)
    db.flush()
    if role == Role.teacher:
        _link_courses(db, new_row, row.course_ids)
    row.revoked_at = now + grace
    db.commit()
    return new_row, key


def bootstrap_row(db: Session, bootstrap_admin_key: str) -> ApiKey:
    """The bootstrap key's row, made (not committed) the first time it is asked for: rotating
    the bootstrap key stores its hash with its end, so that every process refuses it then,
    even while ROLLCALL_ADMIN_KEY is still set."""
    key_hash = hash_key(bootstrap_admin_key)
    row = db.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))
    if row is None:
        row = ApiKey(
            name=BOOTSTRAP_NAME, role=Role.admin.value, prefix=BOOTSTRAP_PREFIX, key_hash=key_hash
        )
        db.add(row)
        db.flush()
    return row


def caller_of(db: Session, key: str, bootstrap_admin_key: str | None) -> Caller | None:
    """Who a presented key is (its role, its row, a teacher's courses), or None for an unknown
    or revoked key. A stored row decides first: a rotated bootstrap key has one."""
    row = db.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None:
        if bootstrap_admin_key and hmac.compare_digest(key.encode(), bootstrap_admin_key.encode()):
            return Caller(Role.admin)
        return None
    if is_revoked(row):
        return None
    role = Role(row.role)
    courses = frozenset(row.course_ids) if role == Role.teacher else None
    return Caller(role, row.id, row.name, courses)
