"""deploy/install.sh (DESIGN §14): shellcheck-clean; a dry run for each OS
family prints every action and changes nothing; a real install into a
scratch root gives an instance `flask check` passes, units systemd-analyze
accepts, and a re-run upgrades (backup first); uninstall keeps the data
unless --purge."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "install.sh"
UNITS = ("lanbill-web.service", "lanbill-agents.service", "lanbill-worker.service", "lanbill-backup.service",
         "lanbill-backup.timer")


def clean_env(**extra) -> dict:
    """The environment without the test run's database: the installed
    instance uses its own SQLite file."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "HUEY_URL", "LANBILL_INSTANCE", "LANBILL_OS")}
    env.update(extra)
    return env


def install(*args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=clean_env(**env),
                          timeout=600)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (apt shellcheck)")
def test_the_script_is_shellcheck_clean():
    result = subprocess.run(["shellcheck", "-x", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("family, manager, python, site", [
    ("debian", "apt-get install", "python3 -m venv", "/etc/nginx/sites-available/lanbill.conf"),
    ("rhel", "dnf install -y python3.11 python3.11-pip", "python3.11 -m venv", "/etc/nginx/conf.d/lanbill.conf"),
    ("redos", "dnf install -y python3 python3-pip", "python3 -m venv", "/etc/nginx/conf.d/lanbill.conf"),
])
def test_dry_run_prints_every_action_for_each_os_family(family, manager, python, site):
    if Path("/opt/lanbill").exists():
        pytest.skip("LANBill is installed on this machine: the dry run would describe an upgrade")
    result = install("--dry-run", "--postgresql", LANBILL_OS=family)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"OS family: {family}" in out and "dry run: nothing is changed" in out
    assert manager in out and python in out
    assert ("postgresql-server" in out) == (family != "debian")
    assert "+ useradd --system --home-dir /var/lib/lanbill --no-create-home --shell /sbin/nologin lanbill" in out
    assert "+ write /etc/lanbill/config.py (mode 0640):" in out
    assert "+ chown root:lanbill /etc/lanbill/config.py" in out
    assert 'DATABASE_URL = "postgresql:///lanbill"' in out
    for unit in UNITS:
        assert f"/etc/systemd/system/{unit}" in out
    assert f"+ write {site} (mode 0644):" in out and "/etc/logrotate.d/lanbill" in out
    assert "flask --app /opt/lanbill/app.py init" in out
    assert "+ systemctl enable lanbill-web lanbill-agents lanbill-worker lanbill-backup.timer" in out
    if family == "debian":
        assert "setsebool" not in out
    assert not Path("/etc/lanbill/config.py").exists()


def test_detection_must_be_forced_on_an_unknown_os_and_options_are_checked():
    result = install("--dry-run", "--os", "windows")
    assert result.returncode == 2 and "force one with --os" in result.stderr
    result = install("--frobnicate")
    assert result.returncode == 2 and "unknown option" in result.stderr


def test_uninstall_dry_run_keeps_data_unless_purged():
    kept = install("--dry-run", "--uninstall", "--os", "debian").stdout
    assert "+ rm -rf /etc/systemd/system/lanbill-agents.service.d /opt/lanbill" in kept
    assert "kept: data /var/lib/lanbill" in kept and "rm -rf /var/lib/lanbill" not in kept
    purged = install("--dry-run", "--uninstall", "--purge", "--os", "rhel").stdout
    assert "+ rm -rf /var/lib/lanbill /etc/lanbill /var/log/lanbill" in purged


def flask(root: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", str(root / "opt/lanbill/app.py"), *args],
                          capture_output=True, text=True, timeout=300,
                          env=clean_env(LANBILL_INSTANCE=str(root / "var/lib/lanbill")))


def test_real_install_into_a_scratch_root_then_upgrade_and_uninstall(tmp_path):
    root = tmp_path / "root"
    result = install("--root", str(root), "--os", "debian", "--venv", sys.prefix, "--low-ports")
    assert result.returncode == 0, result.stdout + result.stderr
    password = re.search(r"one-time password: (\S+)", result.stdout).group(1)
    assert "LANBill 0.1.0 is installed: http://" in result.stdout

    app, data, etc = root / "opt/lanbill", root / "var/lib/lanbill", root / "etc/lanbill"
    assert (app / "app.py").exists() and not (app / "tests").exists() and not (app / ".git").exists()
    assert stat.S_IMODE((etc / "config.py").stat().st_mode) == 0o640
    assert (data / "config.py").resolve() == (etc / "config.py").resolve()
    assert stat.S_IMODE(data.stat().st_mode) == 0o750
    for unit in UNITS:
        assert (root / "etc/systemd/system" / unit).read_text() == (ROOT / "deploy/systemd" / unit).read_text()
    assert "CAP_NET_BIND_SERVICE" in (root / "etc/systemd/system/lanbill-agents.service.d/low-ports.conf").read_text()
    assert "proxy_pass http://127.0.0.1:8080" in (root / "etc/nginx/sites-available/lanbill.conf").read_text()
    assert os.readlink(root / "etc/nginx/sites-enabled/lanbill.conf") == "/etc/nginx/sites-available/lanbill.conf"
    assert "/var/log/lanbill/*.log" in (root / "etc/logrotate.d/lanbill").read_text()
    assert (data / "admin_one_time_password").read_text().strip() == password

    check = flask(root, "check")
    assert check.returncode == 0 and "ok: every balance equals the sum of its ledger" in check.stdout

    # every unit's ExecStart points at the installed code (paths moved into the scratch root)
    for unit in UNITS:
        text = (root / "etc/systemd/system" / unit).read_text()
        for path in re.findall(r"^ExecStart=(\S+)", text, re.M):
            assert (root / path.lstrip("/")).exists() or path.endswith("/.venv/bin/gunicorn"), path
    if shutil.which("systemd-analyze"):
        verify_dir = tmp_path / "units"
        verify_dir.mkdir()
        for unit in UNITS:
            text = (root / "etc/systemd/system" / unit).read_text().replace("/opt/lanbill", str(app))
            (verify_dir / unit).write_text(text)
        assert (app / ".venv/bin/gunicorn").exists(), "gunicorn is in requirements.txt"
        result = subprocess.run(["systemd-analyze", "verify", *[str(verify_dir / u) for u in UNITS]],
                                capture_output=True, text=True)
        ours = [line for line in (result.stdout + result.stderr).splitlines() if "lanbill" in line]
        assert ours == [], ours

    again = install("--root", str(root), "--os", "debian", "--venv", sys.prefix)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "upgrade: LANBill 0.1.0 -> 0.1.0" in again.stdout and "backup before the upgrade" in again.stdout
    assert "applied: nothing, schema is current" in again.stdout
    assert list((data / "backups").glob("lanbill-*.tar"))
    assert flask(root, "check").returncode == 0

    removed = install("--root", str(root), "--os", "debian", "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not app.exists() and not (root / "etc/systemd/system/lanbill-web.service").exists()
    assert (data / "lanbill.db").exists() and (etc / "config.py").exists()
    purged = install("--root", str(root), "--os", "debian", "--uninstall", "--purge")
    assert purged.returncode == 0 and not data.exists() and not etc.exists()
