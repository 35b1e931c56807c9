"""gunicorn settings for the web process (DESIGN §1).

`gunicorn -c deploy/gunicorn.conf.py app:app` binds to LANBILL_HTTP_HOST /
LANBILL_HTTP_PORT (or instance/config.py) unless --bind is given.
Tuning: LANBILL_WEB_WORKERS (default: one per core, at most 4),
LANBILL_WEB_THREADS (default 4), LANBILL_ACCESS_LOG ("-" for stderr).
"""

import multiprocessing
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lanbill.config import load_settings  # noqa: E402

_settings = load_settings()

bind = [f"{_settings['HTTP_HOST']}:{_settings['HTTP_PORT']}"]
workers = int(os.environ.get("LANBILL_WEB_WORKERS", min(4, multiprocessing.cpu_count())))
# Threads per worker: the password checks of logins (argon2, ~0.3 s of CPU
# each at m = 64 MiB, t = 3, p = 4) run in C with the GIL released, so a
# worker's threads check passwords truly in parallel while its other threads
# serve pages; each check in flight holds 64 MiB (workers × threads of them
# at worst).
threads = int(os.environ.get("LANBILL_WEB_THREADS", 4))
worker_class = "gthread"
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("LANBILL_ACCESS_LOG", None)
errorlog = "-"
# gunicorn ≥ 25 opens a control socket at one fixed path per user; several
# instances on one box (web + tests + benchmarks) would fight over it.
control_socket_disable = True
