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
from app.core.tables import ApiKey, ApiKeyCourse, Course
from app.services.rows import get_or_404

KEY_PREFIX = "rc_"


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


def revoke_key(db: Session, key_id: int, presented_key: str | None = None) -> ApiKey:
    """Revoke a key; revoking a revoked key changes nothing (its revocation time stays).
    Refuses to revoke `presented_key`, the key of the request itself (an admin locking itself
    out). The operator's CLI presents none."""
    row = get_key(db, key_id)
    if presented_key is not None and hmac.compare_digest(row.key_hash, hash_key(presented_key)):
        raise Conflict("own_key", "A key cannot revoke itself; revoke it with another admin key.")
    if row.revoked_at is None:
        row.revoked_at = dt.datetime.now(dt.UTC)
        db.commit()
    return row


def caller_of(db: Session, key: str, bootstrap_admin_key: str | None) -> Caller | None:
    """Who a presented key is (its role, its row, a teacher's courses), or None for an unknown
    or revoked key."""
    if bootstrap_admin_key and hmac.compare_digest(key.encode(), bootstrap_admin_key.encode()):
        return Caller(Role.admin)
    row = db.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        return None
    role = Role(row.role)
    courses = frozenset(row.course_ids) if role == Role.teacher else None
    return Caller(role, row.id, row.name, courses)
