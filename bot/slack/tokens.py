"""Slack tokens encrypted at rest in slack_sdk's installation tables.

With ``JIGSAW_DATA_KEY`` set, every token an installation or bot row holds
(bot, user and refresh tokens) is stored as ciphertext made with the data
key and decrypted only as it is read, so a copy of the database (a backup,
a replica, a leaked dump) holds no usable token. A token stored in clear
before the key was set is still read, and is encrypted the next time that
installation is saved (a reinstall).
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

from storage.crypto import Cipher, is_encrypted_text

INSTALLATION_TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
BOT_TOKENS = ("bot_token", "bot_refresh_token")

_T = TypeVar("_T", Bot, Installation)


class SealedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store, tokens encrypted with
    ``cipher`` (or stored as slack_sdk stores them when it is None)."""

    def __init__(self, *, cipher: Cipher | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cipher = cipher

    def _sealed(self, item: _T, fields: tuple[str, ...]) -> _T:
        if self.cipher is None:
            return item
        sealed = copy.copy(item)
        for field in fields:
            value = getattr(sealed, field, None)
            if isinstance(value, str) and value and not is_encrypted_text(value):
                setattr(sealed, field, self.cipher.encrypt_text(value))
        return sealed

    def _opened(self, item: _T, fields: tuple[str, ...]) -> _T:
        if self.cipher is None:
            return item
        for field in fields:
            value = getattr(item, field, None)
            if isinstance(value, str) and is_encrypted_text(value):
                setattr(item, field, self.cipher.decrypt_text(value, f"a Slack {field}"))
        return item

    def save(self, installation: Installation) -> None:
        # slack_sdk saves the bot row from this same (already encrypted)
        # installation; save_bot leaves ciphertext as it is.
        super().save(self._sealed(installation, INSTALLATION_TOKENS))

    def save_bot(self, bot: Bot) -> None:
        super().save_bot(self._sealed(bot, BOT_TOKENS))

    def build_installation_entity(self, row: Any) -> Installation:  # type: ignore[override]
        return self._opened(super().build_installation_entity(row), INSTALLATION_TOKENS)

    def build_bot_entity(self, row: Any) -> Bot:  # type: ignore[override]
        return self._opened(super().build_bot_entity(row), BOT_TOKENS)
