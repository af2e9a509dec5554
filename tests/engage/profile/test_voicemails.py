"""Voicemails (A9): upload audio (checked by name and content), play, rename, delete."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from engage.models import Voicemail
from engage.services.voicemails import MAX_PER_USER, sniff_audio
from tests.factories import VoicemailFactory

SETTINGS = reverse("engage:settings")
UPLOAD = reverse("engage:settings_voicemail_upload")
HX = {"HTTP_HX_REQUEST": "true"}

SAMPLES = {
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 200,
    "mp3-frame": b"\xff\xfb\x90\x64" + b"\x00" * 200,
    "wav": b"RIFF\x24\x08\x00\x00WAVEfmt " + b"\x00" * 200,
    "ogg": b"OggS\x00\x02" + b"\x00" * 200,
    "webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81" + b"\x00" * 200,
    "m4a": b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 200,
}


def audio(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def vm_url(name: str, voicemail: Voicemail) -> str:
    return reverse(f"engage:settings_voicemail_{name}", kwargs={"voicemail_id": voicemail.pk})


@pytest.mark.parametrize(
    ("filename", "sample", "content_type"),
    [
        ("hello.mp3", "mp3", "audio/mpeg"),
        ("frame.MP3", "mp3-frame", "audio/mpeg"),
        ("hello.wav", "wav", "audio/wav"),
        ("hello.ogg", "ogg", "audio/ogg"),
        ("hello.webm", "webm", "audio/webm"),
        ("hello.m4a", "m4a", "audio/mp4"),
    ],
)
def test_audio_files_are_accepted(seller_client, teammate, filename, sample, content_type):
    response = seller_client.post(UPLOAD, {"title": " Not in  ", "audio": audio(filename, SAMPLES[sample])})
    assert response.status_code == 302 and response.url == SETTINGS + "#voicemails"
    voicemail = Voicemail.objects.get(owner=teammate)
    assert (voicemail.title, voicemail.content_type) == ("Not in", content_type)
    assert voicemail.organization == teammate.organization
    assert voicemail.size_bytes == len(SAMPLES[sample])
    assert filename.lower().split(".")[0] not in voicemail.audio.name  # stored under a random name


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("notes.pdf", b"%PDF-1.7", "Upload an audio file"),
        ("fake.mp3", b"%PDF-1.7 pretending", "This file is not a real MP3 recording"),
        ("fake.mp3", SAMPLES["wav"], "This file is not a real MP3 recording"),
        ("script.wav", b"#!/bin/sh\nrm -rf /", "This file is not a real WAV recording"),
        ("noext", SAMPLES["mp3"], "Upload an audio file"),
        ("empty.mp3", b"", "The submitted file is empty."),
    ],
)
def test_other_files_are_refused(seller_client, teammate, filename, content, message):
    response = seller_client.post(UPLOAD, {"title": "Bad", "audio": audio(filename, content)})
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert 'value="Bad"' in page  # the title is kept
    assert not Voicemail.objects.filter(owner=teammate).exists()


@override_settings(VOICEMAIL_MAX_BYTES=100)
def test_oversize_files_are_refused(seller_client, teammate):
    response = seller_client.post(UPLOAD, {"title": "Long", "audio": audio("long.mp3", SAMPLES["mp3"])})
    assert "the limit is 100\xa0bytes" in response.content.decode()
    assert not Voicemail.objects.exists()


def test_a_title_and_a_file_are_required(seller_client):
    response = seller_client.post(UPLOAD, {"title": ""})
    page = response.content.decode()
    assert "Give the voicemail a title." in page and "Choose an audio file to upload." in page


def test_the_21st_voicemail_is_refused(seller_client, teammate):
    for _ in range(MAX_PER_USER - 1):
        VoicemailFactory(organization=teammate.organization, owner=teammate)
    assert (
        seller_client.post(UPLOAD, {"title": "20th", "audio": audio("a.mp3", SAMPLES["mp3"])}).status_code
        == 302
    )
    page = seller_client.get(SETTINGS).content.decode()
    assert "You have 20 voicemails, the most you can keep." in page and 'name="audio"' not in page
    response = seller_client.post(UPLOAD, {"title": "21st", "audio": audio("b.mp3", SAMPLES["mp3"])})
    assert "You already have 20 voicemails" in response.content.decode()
    assert Voicemail.objects.filter(owner=teammate).count() == MAX_PER_USER


def test_a_teammates_voicemails_do_not_count(seller_client, teammate, owner):
    for _ in range(MAX_PER_USER):
        VoicemailFactory(organization=owner.organization, owner=owner)
    assert (
        seller_client.post(UPLOAD, {"title": "Mine", "audio": audio("a.mp3", SAMPLES["mp3"])}).status_code
        == 302
    )
    assert "Voicemail" not in "".join(
        vm.title for vm in seller_client.get(SETTINGS).context["voicemails"] if vm.owner_id == owner.pk
    )


def test_upload_with_htmx_swaps_the_list(seller_client):
    response = seller_client.post(UPLOAD, {"title": "Hi", "audio": audio("a.ogg", SAMPLES["ogg"])}, **HX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="voicemails"')
    assert "Added the voicemail “Hi”." in body and "<audio" in body


def test_the_owner_plays_their_voicemail(seller_client, teammate):
    voicemail = VoicemailFactory(organization=teammate.organization, owner=teammate)
    response = seller_client.get(vm_url("audio", voicemail))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mpeg"
    assert response["Accept-Ranges"] == "bytes"
    assert b"".join(response.streaming_content) == b"ID3fake"
    page = seller_client.get(SETTINGS).content.decode()
    assert f'src="{vm_url("audio", voicemail)}"' in page


def test_range_requests_let_the_player_seek(seller_client, teammate):
    voicemail = VoicemailFactory(organization=teammate.organization, owner=teammate)
    response = seller_client.get(vm_url("audio", voicemail), HTTP_RANGE="bytes=2-4")
    assert response.status_code == 206
    assert response.content == b"3fa"
    assert response["Content-Range"] == "bytes 2-4/7"
    assert seller_client.get(vm_url("audio", voicemail), HTTP_RANGE="bytes=-3").content == b"ake"
    assert seller_client.get(vm_url("audio", voicemail), HTTP_RANGE="bytes=5-").content == b"ke"
    assert seller_client.get(vm_url("audio", voicemail), HTTP_RANGE="bytes=9-").status_code == 416


def test_a_teammates_voicemail_is_404(seller_client, owner):
    theirs = VoicemailFactory(organization=owner.organization, owner=owner)
    for name in ("audio", "rename", "delete"):
        assert seller_client.get(vm_url(name, theirs)).status_code == 404
        assert seller_client.post(vm_url(name, theirs), {"title": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.title != "x"


def test_renaming(seller_client, teammate):
    voicemail = VoicemailFactory(organization=teammate.organization, owner=teammate, title="Old")
    page = seller_client.get(vm_url("rename", voicemail)).content.decode()
    assert 'value="Old"' in page
    response = seller_client.post(vm_url("rename", voicemail), {"title": "New"})
    assert response.status_code == 302
    voicemail.refresh_from_db()
    assert voicemail.title == "New"
    response = seller_client.post(vm_url("rename", voicemail), {"title": "   "})
    assert response.status_code == 200 and "Give the voicemail a title." in response.content.decode()
    voicemail.refresh_from_db()
    assert voicemail.title == "New"


def test_deleting_asks_first(seller_client, teammate, django_capture_on_commit_callbacks):
    voicemail = VoicemailFactory(organization=teammate.organization, owner=teammate, title="Bye")
    name = voicemail.audio.name
    page = seller_client.get(vm_url("delete", voicemail)).content.decode()
    assert "Delete the voicemail “Bye”?" in page and "Cancel" in page
    assert Voicemail.objects.filter(pk=voicemail.pk).exists()  # a GET deletes nothing
    with django_capture_on_commit_callbacks(execute=True):
        response = seller_client.post(vm_url("delete", voicemail))
    assert response.status_code == 302
    assert not Voicemail.objects.filter(pk=voicemail.pk).exists()
    assert not default_storage.exists(name)
    assert "Deleted the voicemail “Bye”." in seller_client.get(SETTINGS).content.decode()


def test_sniffing():
    assert sniff_audio(b"ID3") == ".mp3"
    assert sniff_audio(b"\xff\xf3\x00") == ".mp3"
    assert sniff_audio(b"\xff\xfd\x00") is None  # MPEG layer II, not an MP3
    assert sniff_audio(b"RIFF\x00\x00\x00\x00AVI ") is None
    assert sniff_audio(b"") is None
