"""Admin web accounts: email and password (argon2), a role, active or not. No Flask here, so the
`smsline admin` command and the web share it."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smsline import audit
from smsline.models import AdminUser, utcnow

ROLES = ("viewer", "coordinator", "admin")  # each can do what the ones before it can
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_EMAIL = 254

_hasher = PasswordHasher()
# Verified when the email is unknown, so a failed login takes as long either way.
_DUMMY_HASH = _hasher.hash("not a password of anyone's")


class AccountError(ValueError):
    """A bad email, role or password, or an email already taken; the message says which."""


def rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def normalise_email(email: str) -> str:
    """The email as stored: trimmed and lowercased; AccountError when it cannot be one."""
    email = (email or "").strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > MAX_EMAIL or any(c.isspace() for c in email):
        raise AccountError("not an email address")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password must be at most {MAX_PASSWORD} characters")


def find(session: Session, email: str) -> AdminUser | None:
    return session.scalar(select(AdminUser).where(func.lower(AdminUser.email) == email.lower()))


def create(session: Session, email: str, role: str, password: str, actor: str) -> AdminUser:
    """Add an account (audited); the caller commits."""
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    check_password(password)
    if find(session, email) is not None:
        raise AccountError(f"{email} already has an account")
    user = AdminUser(email=email, role=role, password_hash=_hasher.hash(password), active=True)
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="admin_user.create",
        subject_type="admin_user",
        subject_id=user.id,
        details={"role": role},
    )
    return user


def authenticate(session: Session, email: str, password: str) -> AdminUser | None:
    """The active account with this email and password, its last login noted (and its hash
    upgraded when argon2's parameters changed); None otherwise. The caller commits."""
    try:
        user = find(session, normalise_email(email))
    except AccountError:
        user = None
    if len(password or "") > MAX_PASSWORD:
        return None
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user
