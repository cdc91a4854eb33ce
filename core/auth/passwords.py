"""Password hashing with scrypt (stdlib `hashlib.scrypt`): a random salt per password, constant-time checks.

Stored format: `scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>`. The cost parameters travel with the
hash, so raising them later only needs `needs_rehash()` at the next successful login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # ~16 MiB and ~50 ms per hash on one core
DKLEN = 32
SALT_BYTES = 16
MAX_PASSWORD_CHARS = 1024  # bounds the work an attacker can ask for per attempt


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=DKLEN,
                          maxmem=256 * n * r + 1024 * 1024)


def hash_password(password: str) -> str:
    """A new salted scrypt hash of `password` in the stored format."""
    if not isinstance(password, str) or not password:
        raise ValueError("password must be a non-empty string")
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValueError(f"password longer than {MAX_PASSWORD_CHARS} characters")
    salt = secrets.token_bytes(SALT_BYTES)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(_derive(password, salt, N, R, P))}"


def verify_password(password: str, stored: str | None) -> bool:
    """True if `password` matches the stored hash; False for any malformed or missing hash."""
    if not stored or not isinstance(password, str) or len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        scheme, n, r, p, salt_b64, hash_b64 = stored.split("$")
        if scheme != SCHEME:
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(hash_b64)
        got = _derive(password, salt, int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def needs_rehash(stored: str) -> bool:
    """True when the stored hash used other cost parameters than the current ones."""
    try:
        scheme, n, r, p, _, _ = stored.split("$")
    except ValueError:
        return True
    return scheme != SCHEME or (int(n), int(r), int(p)) != (N, R, P)
