from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from integrations.crypto import EncryptedTextField, decrypt, encrypt

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_secrets_are_stored_encrypted_and_read_back(settings):
    settings.ENCRYPTION_KEYS = [NEW]
    field = EncryptedTextField()
    stored = field.get_prep_value("ya29.refresh-token")
    assert "ya29" not in stored
    assert field.from_db_value(stored, None, None) == "ya29.refresh-token"


def test_rotation_keeps_old_secrets_readable_and_writes_with_the_new_key(settings):
    settings.ENCRYPTION_KEYS = [OLD]
    stored_with_old = encrypt("secret")
    settings.ENCRYPTION_KEYS = [NEW, OLD]
    assert decrypt(stored_with_old) == "secret"
    fresh = encrypt("secret")
    settings.ENCRYPTION_KEYS = [NEW]
    assert decrypt(fresh) == "secret"
    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        decrypt(stored_with_old)


def test_a_malformed_key_fails_with_advice(settings):
    settings.ENCRYPTION_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured, match="generate_key"):
        encrypt("x")
