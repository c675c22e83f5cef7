"""Queries on `vault_secrets`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from gazette.store.tables import vault_secrets


def insert_secret(
    conn: Connection, *, token_id: int, key_id: str, nonce: bytes, ciphertext: bytes, now: datetime
) -> None:
    conn.execute(
        insert(vault_secrets).values(
            token_id=token_id, key_id=key_id, nonce=nonce, ciphertext=ciphertext, created_at=now, updated_at=now
        )
    )


def find_secret(conn: Connection, token_id: int) -> Any:
    return conn.execute(select(vault_secrets).where(vault_secrets.c.token_id == token_id)).first()


def replace_ciphertext(
    conn: Connection, secret_id: int, *, key_id: str, nonce: bytes, ciphertext: bytes, now: datetime
) -> None:
    conn.execute(
        update(vault_secrets)
        .where(vault_secrets.c.id == secret_id)
        .values(key_id=key_id, nonce=nonce, ciphertext=ciphertext, updated_at=now)
    )


def sealed_with_other_keys(conn: Connection, active_key_id: str) -> Iterator[Any]:
    yield from conn.execute(select(vault_secrets).where(vault_secrets.c.key_id != active_key_id))
