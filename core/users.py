"""Users, passwords (argon2) and API tokens (random, shown once, stored hashed)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select

from core import audit
from core.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from core.models import ApiToken, User
from core.permissions import FLAGS, require
from core.uow import UnitOfWork

_hasher = PasswordHasher()
TOKEN_PREFIX = "dp_"


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    """Constant-time password check; never raises for a bad hash."""
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    """Tokens carry 256 random bits, so a fast hash is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    *,
    uow: UnitOfWork,
    actor: User | None,
    email: str,
    name: str,
    password: str | None = None,
    super_admin: bool = False,
    permissions: tuple[str, ...] = (),
) -> User:
    """Create a user. `actor=None` is the CLI/bootstrap path (the server has no such caller)."""
    if actor is not None:
        require(actor, "users.manage")
    email = email.strip().lower()
    if "@" not in email:
        raise ValidationFailed("Enter a valid email address.", field="email")
    unknown = set(permissions) - set(FLAGS)
    if unknown:
        raise ValidationFailed(f"Unknown permission(s): {', '.join(sorted(unknown))}", field="permissions")
    if uow.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"A user with email {email} already exists.")
    user = User(
        email=email,
        name=name.strip() or email,
        password_hash=hash_password(password) if password else None,
        is_super_admin=super_admin,
        account_access="account_access" in permissions,
        delete_tickets="delete_tickets" in permissions,
        created_at=uow.now(),
    )
    uow.session.add(user)
    uow.session.flush()
    audit.record(uow, actor=actor, action="user.created", detail={"user_id": user.id, "email": email})
    uow.commit()
    return user


def issue_token(*, uow: UnitOfWork, user: User, name: str = "default") -> str:
    """Create an API token for `user` and return it; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    uow.session.add(
        ApiToken(user_id=user.id, token_hash=hash_token(token), prefix=token[:10], name=name, created_at=uow.now())
    )
    audit.record(uow, actor=user, action="token.created", detail={"user_id": user.id, "name": name})
    uow.commit()
    return token


# Built once: every API request runs it (the user and their token in one round trip).
_USER_BY_TOKEN = (select(User).join(ApiToken, ApiToken.user_id == User.id)
                  .where(ApiToken.token_hash == bindparam("token_hash")))


def authenticate_token(*, uow: UnitOfWork, token: str | None) -> User:
    """Resolve a bearer token to an active user or raise `Unauthenticated`."""
    return token_holder(uow.session.scalar(_USER_BY_TOKEN, {"token_hash": presented_token_hash(token)}))


def presented_token_hash(token: str | None) -> str:
    """The stored form of a bearer token to look up; `Unauthenticated` when none was sent."""
    if not token:
        raise Unauthenticated("Missing API token: send 'Authorization: Bearer <token>'.")
    return hash_token(token)


def token_holder(user: User | None) -> User:
    """The user a token lookup found, if one was and is active; otherwise `Unauthenticated`."""
    if user is None or not user.is_active:
        raise Unauthenticated("Invalid or revoked API token.")
    return user


def authenticate_password(*, uow: UnitOfWork, email: str, password: str) -> User:
    """Check an email and password; the same error whichever part is wrong."""
    user = uow.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active or not verify_password(user, password):
        raise Unauthenticated("Wrong email or password.")
    return user


def get_user(*, uow: UnitOfWork, user_id: int) -> User:
    user = uow.session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} not found.")
    return user


def list_users(*, uow: UnitOfWork, actor: User) -> list[User]:
    """Every user with their permissions (super admins only)."""
    require(actor, "users.manage")
    return list(uow.session.scalars(select(User).order_by(User.id)))


def set_permissions(
    *, uow: UnitOfWork, actor: User, user_id: int, super_admin: bool, permissions: tuple[str, ...]
) -> User:
    """Change a user's role and permission flags (super admins only)."""
    require(actor, "users.manage")
    user = get_user(uow=uow, user_id=user_id)
    unknown = set(permissions) - set(FLAGS)
    if unknown:
        raise ValidationFailed(f"Unknown permission(s): {', '.join(sorted(unknown))}", field="permissions")
    if user.id == actor.id and not super_admin:
        raise ValidationFailed("You cannot remove your own super admin role.", field="super_admin")
    user.is_super_admin = super_admin
    user.account_access = "account_access" in permissions
    user.delete_tickets = "delete_tickets" in permissions
    audit.record(
        uow, actor=actor, action="user.permissions", detail={"user_id": user.id, "super_admin": super_admin,
                                                              "permissions": sorted(permissions)}
    )
    uow.commit()
    return user
