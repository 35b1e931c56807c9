# LANBill settings (see /opt/lanbill/lanbill/config.py for every key and its
# default).  Read by every process; the instance folder is /var/lib/lanbill.
HTTP_HOST = "127.0.0.1"
HTTP_PORT = 8080
TRUSTED_PROXIES = 1  # nginx in front
BACKUP_DIR = "/var/lib/lanbill/backups"  # elsewhere: add it to the units' ReadWritePaths (a drop-in)
BACKUP_KEEP_DAILY = 7
BACKUP_KEEP_MONTHLY = 12
BACKUP_BY_WORKER = False  # lanbill-backup.timer makes the daily backup
MONITORING_ALLOWED = ["127.0.0.1/32", "::1/128"]
# DATABASE_URL = "postgresql:///lanbill"
# HUEY_URL = "redis://127.0.0.1:6379/0"
