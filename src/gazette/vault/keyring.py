"""Vault keys: `GAZETTE_VAULT_KEY`, else a key file in the data dir (0600), with key ids.

The key file keeps every key ever used, so rows sealed before a rotation still open; the
active key seals everything new. A key id is `k` + the first 8 hex digits of SHA-256(key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from gazette.errors import ConfigError
from gazette.private_files import write_private_file

KEY_FILE = "vault.keys"
KEY_BYTES = 32
GENERATE_HINT = 'python3 -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"'


@dataclass(frozen=True)
class Keyring:
    active_id: str
    keys: dict[str, bytes] = field(repr=False)
    from_environment: bool = False

    def key(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)


def key_id(key: bytes) -> str:
    return "k" + hashlib.sha256(key).hexdigest()[:8]


def decode_key(text: str, *, origin: str) -> bytes:
    """Raises ConfigError unless `text` is base64 of exactly 32 bytes."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(f"{origin} must be {KEY_BYTES} random bytes in base64; generate one with: {GENERATE_HINT}")
    return key


def load_keyring(data_dir: Path, environment_key: str | None, *, create: bool = True) -> Keyring:
    """Every known key, the active one first in line.

    Raises:
        ConfigError: an invalid environment key, or an unreadable or corrupt key file.
    """
    path = data_dir / KEY_FILE
    keys, active = _read_file(path)
    if environment_key:
        key = decode_key(environment_key, origin="GAZETTE_VAULT_KEY")
        keys[key_id(key)] = key
        return Keyring(active_id=key_id(key), keys=keys, from_environment=True)
    if active is None:
        if not create:
            raise ConfigError(f"no vault key: set GAZETTE_VAULT_KEY or restore {path}")
        key = os.urandom(KEY_BYTES)
        keys, active = {key_id(key): key}, key_id(key)
        _write_file(path, keys, active)
    return Keyring(active_id=active, keys=keys)


def add_key(data_dir: Path, keyring: Keyring) -> Keyring:
    """Create a new active key in the key file, keeping the old ones.

    Raises:
        ConfigError: the active key comes from GAZETTE_VAULT_KEY (rotate by changing it there).
    """
    if keyring.from_environment:
        raise ConfigError(
            "the vault key comes from GAZETTE_VAULT_KEY: rotate it there (keep the old key in the key file "
            f"{data_dir / KEY_FILE} so existing credentials still open)"
        )
    key = os.urandom(KEY_BYTES)
    keys = {**keyring.keys, key_id(key): key}
    _write_file(data_dir / KEY_FILE, keys, key_id(key))
    return Keyring(active_id=key_id(key), keys=keys)


def _read_file(path: Path) -> tuple[dict[str, bytes], str | None]:
    try:
        document = json.loads(path.read_text())
        keys = {kid: base64.b64decode(value) for kid, value in document["keys"].items()}
        active = document["active"]
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ConfigError(f"cannot read the vault key file {path}: {exc}") from None
    if active not in keys or any(key_id(key) != kid for kid, key in keys.items()):
        raise ConfigError(f"the vault key file {path} is corrupt (key ids do not match their keys)")
    return keys, active


def _write_file(path: Path, keys: dict[str, bytes], active: str) -> None:
    document = {"active": active, "keys": {kid: base64.b64encode(key).decode() for kid, key in keys.items()}}
    try:
        write_private_file(path, json.dumps(document, indent=2))
    except OSError as exc:
        raise ConfigError(f"cannot write the vault key file {path}: {exc.strerror or exc}") from None
