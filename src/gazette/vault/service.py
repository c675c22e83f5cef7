"""`Vault`: provider secrets sealed with AES-256-GCM, bound to their row, re-encrypted lazily."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel
from sqlalchemy import Connection

from gazette.errors import ConfigError
from gazette.store import vault as vault_rows
from gazette.store.types import utcnow
from gazette.vault.keyring import Keyring, add_key, load_keyring

if TYPE_CHECKING:
    from gazette.app import Gazette

NONCE_BYTES = 12


class Sealed(BaseModel):
    key_id: str
    nonce: bytes
    ciphertext: bytes


class Rotation(BaseModel):
    key_id: str
    previous_key_id: str
    reencrypted: int


class Vault:
    def __init__(self, gz: Gazette) -> None:
        self._gz = gz
        self._keyring: Keyring | None = None
        self._lock = threading.Lock()

    @property
    def keyring(self) -> Keyring:
        """Loaded on first use (which creates the key file when there is no key at all).

        Raises:
            ConfigError: invalid GAZETTE_VAULT_KEY or a corrupt key file.
        """
        with self._lock:
            if self._keyring is None:
                key = self._gz.settings.vault_key
                self._keyring = load_keyring(self._gz.settings.data_dir, key.get_secret_value() if key else None)
            return self._keyring

    def store(self, conn: Connection, token_id: int, secret: str) -> None:
        """Seal `secret` for the credential row `token_id` (inside the caller's transaction)."""
        key_id, nonce, ciphertext = self._seal(token_id, secret)
        vault_rows.insert_secret(
            conn, token_id=token_id, key_id=key_id, nonce=nonce, ciphertext=ciphertext, now=utcnow()
        )

    def reveal(self, conn: Connection, token_id: int, *, label: str) -> str:
        """Open the secret of credential `token_id`; re-seal it with the active key if an older one sealed it.

        Raises:
            ConfigError: no secret, an unknown key id, or a key that does not open it (never garbage).
        """
        row = vault_rows.find_secret(conn, token_id)
        if row is None:
            raise ConfigError(f"credential {label} has no secret in the vault")
        secret = self._open(row, label=label)
        if row.key_id != self.keyring.active_id:
            self._reseal(conn, row, secret)
        return secret

    def rotate(self, *, reencrypt: bool) -> Rotation:
        """Add a new active key; with `reencrypt`, re-seal every secret now (else lazily on read).

        Raises:
            ConfigError: the key comes from GAZETTE_VAULT_KEY, or a secret cannot be opened.
        """
        previous = self.keyring
        with self._lock:
            self._keyring = add_key(self._gz.settings.data_dir, previous)
        count = self.reencrypt_all() if reencrypt else 0
        return Rotation(key_id=self.keyring.active_id, previous_key_id=previous.active_id, reencrypted=count)

    def reencrypt_all(self) -> int:
        count = 0
        with self._gz.store.begin() as conn:
            for row in list(vault_rows.sealed_with_other_keys(conn, self.keyring.active_id)):
                self._reseal(conn, row, self._open(row, label=f"#{row.token_id}"))
                count += 1
        return count

    def seal(self, secret: str, *, context: str) -> Sealed:
        """Encrypt `secret` under the active key, bound to `context` (it opens only with the same one)."""
        keyring = self.keyring
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(keyring.keys[keyring.active_id]).encrypt(nonce, secret.encode(), _context_aad(context))
        return Sealed(key_id=keyring.active_id, nonce=nonce, ciphertext=ciphertext)

    def unseal(self, sealed: Sealed, *, context: str, label: str) -> str:
        """Decrypt what `seal` produced for the same `context`.

        Raises:
            ConfigError: an unknown key id, or a key or context that does not open it.
        """
        return self._decrypt(sealed.key_id, sealed.nonce, sealed.ciphertext, _context_aad(context), label)

    def _reseal(self, conn: Connection, row: Any, secret: str) -> None:
        key_id, nonce, ciphertext = self._seal(row.token_id, secret)
        vault_rows.replace_ciphertext(conn, row.id, key_id=key_id, nonce=nonce, ciphertext=ciphertext, now=utcnow())

    def _seal(self, token_id: int, secret: str) -> tuple[str, bytes, bytes]:
        keyring = self.keyring
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(keyring.keys[keyring.active_id]).encrypt(nonce, secret.encode(), _aad(token_id))
        return keyring.active_id, nonce, ciphertext

    def _open(self, row: Any, *, label: str) -> str:
        return self._decrypt(row.key_id, bytes(row.nonce), bytes(row.ciphertext), _aad(row.token_id), label)

    def _decrypt(self, key_id: str, nonce: bytes, ciphertext: bytes, aad: bytes, label: str) -> str:
        key = self.keyring.key(key_id)
        if key is None:
            raise ConfigError(
                f"cannot open {label}: it was sealed with vault key {key_id}, which is not in the "
                "keyring; set GAZETTE_VAULT_KEY to that key or restore the key file"
            )
        try:
            return AESGCM(key).decrypt(nonce, ciphertext, aad).decode()
        except InvalidTag:
            raise ConfigError(
                f"cannot open {label}: the ciphertext does not authenticate under key {key_id} "
                "(wrong key, or the row was tampered with)"
            ) from None


def _context_aad(context: str) -> bytes:
    return f"gazette-vault:v1:{context}".encode()


def _aad(token_id: int) -> bytes:
    # Binds a ciphertext to its credential: copying it onto another row does not open.
    return f"gazette-vault:v1:{token_id}".encode()
