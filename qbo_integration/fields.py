"""Tokens at rest: encrypted with MultiFernet so keys can rotate (newest key first in QBO_TOKEN_KEYS)."""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.views.decorators.debug import sensitive_variables

from kadouri.debug import remember_secret


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("QBO_TOKEN_KEYS is empty: set at least one Fernet key (see .env.example).")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def token_cipher() -> MultiFernet:
    return _fernet_for(tuple(settings.QBO_TOKEN_KEYS))


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code only ever sees the plaintext."""

    @sensitive_variables("value", "plaintext")
    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        try:
            plaintext = token_cipher().decrypt(value.encode()).decode()
        except InvalidToken as e:
            raise ImproperlyConfigured(
                "A stored QuickBooks token cannot be decrypted with any key in QBO_TOKEN_KEYS."
            ) from e
        remember_secret(plaintext)
        return plaintext

    @sensitive_variables("value")
    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        remember_secret(value)
        return token_cipher().encrypt(value.encode()).decode()


def reencrypt(ciphertext: str) -> str:
    return token_cipher().rotate(ciphertext.encode()).decode()
