"""The worker's operations jobs (lanbill/jobs.py): the heartbeat /healthz
reads, and the nightly backup into BACKUP_DIR with its retention, made with
the settings the worker process reads (instance folder and environment)."""

from __future__ import annotations

from pathlib import Path

from lanbill import jobs
from lanbill.operations import backup, health


def test_heartbeat_job_makes_the_worker_healthy(app, client):
    assert health.worker_heartbeat() is None
    jobs.worker_heartbeat.call_local()
    assert health.worker_heartbeat() is not None
    body = client.get("/healthz").get_json()
    assert body["checks"]["worker"]["status"] == "ok"


def test_nightly_backup_job_uses_the_worker_settings(app, app_config, monkeypatch, tmp_path):
    monkeypatch.setenv("LANBILL_INSTANCE", app_config["INSTANCE_PATH"])
    monkeypatch.setenv("DATABASE_URL", app_config["DATABASE_URL"])
    monkeypatch.setenv("LANBILL_DATA_KEY", app_config["DATA_KEY"])
    monkeypatch.setenv("LANBILL_SECRET_KEY", app_config["SECRET_KEY"])
    monkeypatch.setenv("LANBILL_BACKUP_KEEP_DAILY", "1")
    made = Path(jobs.nightly_backup.call_local())
    assert made.parent == Path(app_config["INSTANCE_PATH"]) / "backups"
    assert backup.read_manifest(made)["database"] in ("sqlite", "postgresql")
    assert backup.last_backup()["path"] == str(made)
    body = app.test_client().get("/healthz").get_json()
    assert body["checks"]["backup"]["status"] == "ok"

    monkeypatch.setenv("LANBILL_BACKUP_BY_WORKER", "false")
    assert jobs.nightly_backup.call_local() is None
