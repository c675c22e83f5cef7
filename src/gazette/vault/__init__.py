"""Vault capability: provider secrets encrypted at rest (AES-256-GCM, key ids, rotation)."""

from gazette.vault.keyring import Keyring
from gazette.vault.service import Rotation, Sealed, Vault

__all__ = ["Keyring", "Rotation", "Sealed", "Vault"]
