"""The Huey instance and periodic jobs.  Jobs are thin: they call billing/.

Storage comes from HUEY_URL (default: Huey's SQLite file in the instance
folder; redis://… for several hosts).  Tests run Huey in immediate mode.
"""

from __future__ import annotations

from huey import RedisHuey, SqliteHuey

from lanbill.config import load_settings


def make_huey(url: str):
    if url.startswith("redis://") or url.startswith("rediss://"):
        return RedisHuey("lanbill", url=url)
    if url.startswith("sqlite:///"):
        return SqliteHuey("lanbill", filename=url[len("sqlite:///"):])
    raise ValueError(f"unsupported HUEY_URL: {url}")


huey = make_huey(load_settings()["HUEY_URL"])


def configure(app) -> None:
    """Point Huey at the app's storage; immediate mode under TESTING."""
    global huey
    if app.config.get("TESTING"):
        huey.immediate = True
    app.extensions["huey"] = huey
