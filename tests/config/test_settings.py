"""Infrastructure: the production profile, the beat schedule, the broker settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.celery import app
from integrations.schedule import install_periodic_tasks

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "throwaway-" + "k" * 60,
    "DATABASE_URL": "sqlite:////tmp/cadence-deploy-check.sqlite3",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "ENCRYPTION_KEYS": "Y2FkZW5jZS10aHJvd2F3YXkta2V5LTAwMDAwMDAwMDA=",
    "ALLOWED_HOSTS": "cadence.example.com",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_under_the_production_profile():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_its_secrets():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_sync_dispatcher_is_scheduled_every_five_minutes_after_migrate(db):
    task = PeriodicTask.objects.get(name="sync dispatcher")
    assert task.task == "integrations.dispatch_syncs"
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (300, IntervalSchedule.SECONDS)
    assert task.task in app.tasks  # the beat entry names a task the worker knows
    assert settings.CELERY_BEAT_SCHEDULER == "django_celery_beat.schedulers:DatabaseScheduler"


def test_an_admins_edit_of_the_schedule_survives_the_next_migrate(db):
    task = PeriodicTask.objects.get(name="sync dispatcher")
    task.enabled = False
    task.save(update_fields=["enabled"])
    assert install_periodic_tasks() == 0
    assert not PeriodicTask.objects.get(name="sync dispatcher").enabled


def test_a_deleted_schedule_entry_comes_back(db):
    PeriodicTask.objects.filter(name="sync dispatcher").delete()
    assert install_periodic_tasks() == 1
    assert PeriodicTask.objects.filter(name="sync dispatcher").exists()


def test_the_embedded_broker_needs_no_server(monkeypatch):
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.CELERY_BROKER_URL, "
        "settings.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_in'])",
        env={"DJANGO_SETTINGS_MODULE": "config.settings.local"},
    )
    assert result.returncode == 0, result.stderr
    assert "filesystem:// " in result.stdout
    assert "var/broker" in result.stdout
