"""The RPM (deploy/rpm/lanbill.spec, `make rpm`): built with rpmbuild, its
file list and requirements read back with rpm, the config marked
%config(noreplace), the scriptlets as the spec promises, and installed
into a scratch root where every unit finds what it points at."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ("lanbill-web.service", "lanbill-agents.service", "lanbill-worker.service", "lanbill-backup.service",
         "lanbill-backup.timer")

pytestmark = pytest.mark.skipif(shutil.which("rpmbuild") is None,
                                reason="rpmbuild is not installed (apt-get install rpm)")


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    topdir = tmp_path_factory.mktemp("rpmbuild")
    result = subprocess.run([str(ROOT / "deploy/rpm/build.sh"), "--topdir", str(topdir)], capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    found = sorted(topdir.glob("RPMS/x86_64/lanbill-*.x86_64.rpm"))
    assert len(found) == 1
    return found[0]


def rpm(*args) -> str:
    result = subprocess.run(["rpm", *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_contents_requirements_and_scriptlets(package):
    files = set(rpm("-qpl", str(package)).split())
    for unit in UNITS:
        assert f"/usr/lib/systemd/system/{unit}" in files
    assert {"/opt/lanbill/app.py", "/opt/lanbill/deploy/gunicorn.conf.py", "/opt/lanbill/requirements.txt",
            "/etc/lanbill/config.py", "/etc/lanbill/env", "/etc/nginx/conf.d/lanbill.conf",
            "/etc/logrotate.d/lanbill", "/var/lib/lanbill", "/var/log/lanbill"} <= files
    wheels = {Path(f).name.split("-")[0].lower() for f in files if f.startswith("/opt/lanbill/wheels/")}
    assert {"flask", "peewee", "huey", "weasyprint", "numpy", "psycopg2_binary", "prometheus_client"} <= wheels
    assert not any("/tests/" in f or f.endswith(".pyc") for f in files)

    requires = rpm("-qpR", str(package)).split("\n")
    assert "/usr/bin/python3.11" in requires and "nginx" in requires and "pango" in requires
    flags = dict(line.rsplit(" ", 1) for line in
                 rpm("-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", str(package)).splitlines()
                 if line.rsplit(" ", 1)[1])
    assert "c" in flags["/etc/lanbill/config.py"] and "n" in flags["/etc/lanbill/config.py"]
    modes = rpm("-qp", "--qf", "[%{FILENAMES} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME}\n]",
                str(package))
    assert "/etc/lanbill/config.py -rw-r----- root:lanbill" in modes
    assert "/var/lib/lanbill drwxr-x--- lanbill:lanbill" in modes

    scripts = rpm("-qp", "--scripts", str(package))
    pre = scripts.split("postinstall scriptlet")[0]
    assert "useradd -r -g lanbill" in pre
    post = scripts.split("postinstall scriptlet")[1].split("preuninstall scriptlet")[0]
    assert "--no-index --find-links /opt/lanbill/wheels" in post
    assert post.index(" backup") < post.index(" init")  # the backup before the migrations
    assert "preset lanbill-web.service" in post or "systemd_post" in post
    assert "disable --now lanbill-web.service" in scripts or "systemd_preun" in scripts


def test_installs_into_a_scratch_root_where_the_units_expect_it(package, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    result = subprocess.run(["rpm", "--root", str(root), "--nodeps", "--noscripts", "-i", str(package)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for unit in UNITS:
        text = (root / "usr/lib/systemd/system" / unit).read_text()
        assert text == (ROOT / "deploy/systemd" / unit).read_text()
        for folder in re.findall(r"^WorkingDirectory=(\S+)", text, re.M):
            assert (root / folder.lstrip("/") / "app.py").exists()
        for env_file in re.findall(r"^EnvironmentFile=-?(\S+)", text, re.M):
            assert (root / env_file.lstrip("/")).exists()
        for paths in re.findall(r"^ReadWritePaths=(.+)$", text, re.M):
            for folder in paths.split():
                assert (root / folder.lstrip("-").lstrip("/")).is_dir(), folder
        if "gunicorn -c deploy/gunicorn.conf.py" in text:
            assert (root / "opt/lanbill/deploy/gunicorn.conf.py").exists()
    assert (root / "var/lib/lanbill/config.py").is_symlink()
    assert (root / "etc/lanbill/config.py").read_text() == (ROOT / "deploy/rpm/config.py").read_text()
    assert "proxy_pass http://127.0.0.1:8080" in (root / "etc/nginx/conf.d/lanbill.conf").read_text()
