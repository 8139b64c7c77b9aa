"""Password hashing for operators and staff (Argon2, through argon2-cffi)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; False for a wrong password, a missing account or a bad hash."""
    if not password_hash:
        _hasher.hash(password)  # spend the same time as a real check, so timing says nothing
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
