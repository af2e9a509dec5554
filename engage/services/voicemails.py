"""A seller's recorded voicemails (A9): at most ``MAX_PER_USER`` each, audio files only.

An upload is accepted when its extension is one of ``AUDIO_TYPES`` *and* its first bytes are that
format's signature, so a renamed document is refused. Files are stored under a random name.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat

from copilot.models import User
from engage.models import Voicemail

MAX_PER_USER = 20
TITLE_MAX = 100


@dataclass(frozen=True)
class AudioType:
    name: str
    content_type: str


AUDIO_TYPES: dict[str, AudioType] = {
    ".mp3": AudioType("MP3", "audio/mpeg"),
    ".wav": AudioType("WAV", "audio/wav"),
    ".ogg": AudioType("Ogg", "audio/ogg"),
    ".webm": AudioType("WebM", "audio/webm"),
    ".m4a": AudioType("M4A", "audio/mp4"),
}
ACCEPT = (
    ",".join(sorted(AUDIO_TYPES)) + "," + ",".join(sorted({t.content_type for t in AUDIO_TYPES.values()}))
)


def sniff_audio(head: bytes) -> str | None:
    """The extension whose file signature ``head`` (the first bytes) carries, or None."""
    if head[:3] == b"ID3":
        return ".mp3"
    # An MPEG audio frame: 11 sync bits, then layer bits 01 (Layer III), e.g. FF FB / FF F3.
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 == 0x02:
        return ".mp3"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return ".wav"
    if head[:4] == b"OggS":
        return ".ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML, the container WebM is written in
        return ".webm"
    if head[4:8] == b"ftyp":
        return ".m4a"
    return None


def voicemails_of(user: User) -> QuerySet[Voicemail]:
    return Voicemail.objects.for_org(user.organization).filter(owner=user).order_by("created_at", "id")


def _clean_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise ValidationError({"title": "Give the voicemail a title."})
    if len(title) > TITLE_MAX:
        raise ValidationError({"title": f"Keep the title to {TITLE_MAX} characters."})
    return title


def _audio_type(upload: UploadedFile) -> AudioType:
    kinds = ", ".join(t.name for t in AUDIO_TYPES.values())
    extension = PurePath(upload.name or "").suffix.lower()
    if extension not in AUDIO_TYPES:
        raise ValidationError({"audio": f"Upload an audio file: {kinds}."})
    limit = settings.VOICEMAIL_MAX_BYTES
    if upload.size == 0:
        raise ValidationError({"audio": "The file is empty."})
    if upload.size > limit:
        raise ValidationError(
            {"audio": f"The file is {filesizeformat(upload.size)}; the limit is {filesizeformat(limit)}."}
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    expected = AUDIO_TYPES[extension]
    if sniff_audio(head) != extension:
        raise ValidationError(
            {"audio": f"This file is not a real {expected.name} recording. Upload an audio file: {kinds}."}
        )
    return expected


@transaction.atomic
def voicemail_create(*, user: User, title: str, audio: UploadedFile) -> Voicemail:
    title = _clean_title(title)
    audio_type = _audio_type(audio)
    User.objects.select_for_update().filter(pk=user.pk).exists()  # count and insert as one step
    if voicemails_of(user).count() >= MAX_PER_USER:
        raise ValidationError(
            f"You already have {MAX_PER_USER} voicemails, the most you can keep. Delete one to add another."
        )
    audio.name = f"{uuid.uuid4().hex}{PurePath(audio.name).suffix.lower()}"
    return Voicemail.objects.create(
        organization_id=user.organization_id,
        owner=user,
        title=title,
        audio=audio,
        content_type=audio_type.content_type,
        size_bytes=audio.size,
    )


@transaction.atomic
def voicemail_rename(*, voicemail: Voicemail, title: str) -> Voicemail:
    voicemail.title = _clean_title(title)
    voicemail.save(update_fields=["title"])
    return voicemail


@transaction.atomic
def voicemail_delete(*, voicemail: Voicemail) -> None:
    """Delete the row, then (once that is committed) the audio file."""
    storage, name = voicemail.audio.storage, voicemail.audio.name
    voicemail.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))
