"""gunicorn settings for the web process (DESIGN §1)."""

import multiprocessing
import os

workers = int(os.environ.get("LANBILL_WEB_WORKERS", min(4, multiprocessing.cpu_count())))
threads = int(os.environ.get("LANBILL_WEB_THREADS", 4))
worker_class = "gthread"
timeout = 60
graceful_timeout = 20
accesslog = os.environ.get("LANBILL_ACCESS_LOG", None)
errorlog = "-"
