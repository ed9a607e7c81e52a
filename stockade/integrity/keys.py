"""The Ed25519 signing key: generated on first use in a key directory, private key readable by its owner only."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from stockade.errors import UsageError

KEY_DIR_ENV = "STOCKADE_KEY_DIR"
PRIVATE_KEY_FILE = "stockade-signing.key"
PUBLIC_KEY_FILE = "stockade-signing.pub"


def default_key_dir() -> Path:
    """``$STOCKADE_KEY_DIR``, else ``$XDG_CONFIG_HOME/stockade/keys`` (``~/.config/stockade/keys``).

    Never inside the reports directory: reports are handed to reviewers, the private key is not.
    """
    configured = os.environ.get(KEY_DIR_ENV)
    if configured:
        return Path(configured)
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "stockade" / "keys"


def public_key_fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(data: bytes, origin: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; ``ValueError`` naming ``origin`` otherwise."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{origin}: not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{origin}: not an Ed25519 public key")
    return key


def signature_valid(public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class Signer:
    """Signs manifests. ``repr`` never shows the private key."""

    _private: Ed25519PrivateKey
    key_dir: Path

    def __repr__(self) -> str:
        return f"Signer(key_dir={str(self.key_dir)!r}, public_key_sha256={self.fingerprint!r})"

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._private.public_key()

    @property
    def fingerprint(self) -> str:
        return public_key_fingerprint(self.public_key)

    def sign(self, data: bytes) -> bytes:
        """The base64 text of the Ed25519 signature of ``data``, newline-terminated."""
        return base64.b64encode(self._private.sign(data)) + b"\n"


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` whole or not at all (FileExistsError): a concurrent run never reads half a key."""
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def load_or_create_signer(key_dir: Path | None = None) -> Signer:
    """The signer whose key lives in ``key_dir`` (default ``default_key_dir()``), created on first use.

    The directory is created 0700 and the private key 0600 (PKCS#8 PEM); a private key readable by
    group or others is refused, as OpenSSH does, rather than used.
    """
    key_dir = Path(key_dir) if key_dir is not None else default_key_dir()
    private_path, public_path = key_dir / PRIVATE_KEY_FILE, key_dir / PUBLIC_KEY_FILE
    if not private_path.exists():
        key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            _write_new(private_path, pem, 0o600)
        except FileExistsError:
            pass  # another run created it first: use that one
        else:
            public_path.unlink(missing_ok=True)
            _write_new(public_path, public_key_pem(key.public_key()), 0o644)
    mode = stat.S_IMODE(private_path.stat().st_mode)
    if mode & 0o077:
        raise UsageError(f"{private_path}: signing key is accessible by others (mode {mode:04o}); "
                         "chmod 600 it")
    try:
        loaded = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{private_path}: not a usable signing key") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise UsageError(f"{private_path}: not an Ed25519 private key")
    if not public_path.exists():
        _write_new(public_path, public_key_pem(loaded.public_key()), 0o644)
    return Signer(loaded, key_dir)
