#!/usr/bin/env bash
# LANBill: install or upgrade on RED OS 8, the RHEL 9 family (Rocky, Alma)
# or Debian 12, as root, in one command:
#
#   sudo deploy/install.sh                  # install, or upgrade if installed
#   sudo deploy/install.sh --dry-run        # print every action, change nothing
#   sudo deploy/install.sh --uninstall      # remove code and units, keep data
#   sudo deploy/install.sh --uninstall --purge   # ... and the data and config
#
# Layout: code and its virtualenv in /opt/lanbill, instance data (database,
# keys, uploads, backups) in /var/lib/lanbill, configuration in
# /etc/lanbill/config.py (mode 0640, root:lanbill), systemd units
# lanbill-web, -agents, -worker and a daily lanbill-backup.timer, an nginx
# site on port 80 in front of gunicorn on 127.0.0.1:8080, logrotate for
# /var/log/lanbill.  An upgrade makes a backup first, then replaces the
# code, applies the migrations and restarts the services.
#
# Options:
#   --os debian|rhel|redos   force the OS family (or LANBILL_OS=...)
#   --postgresql             install PostgreSQL and use it (default: SQLite)
#   --redis                  install Redis and run Huey on it
#   --server-name NAME       nginx server_name (default: this host's name)
#   --low-ports              let the agents bind ports below 1024
#   --venv DIR               use this existing virtualenv instead of making one
#   --wheels DIR             install Python packages from DIR only (no network)
#   --root DIR               install under DIR (a scratch root: no packages,
#                            no user, no systemctl, no nginx reload)
#   --no-systemd             do not call systemctl
#   --no-packages            do not call dnf/apt-get
#   --dry-run                print every action without doing it
set -euo pipefail
umask 022

SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OS_FAMILY=${LANBILL_OS:-}
DRY_RUN=0
ROOT=""
USE_SYSTEMD=1
USE_PACKAGES=1
WITH_POSTGRESQL=0
WITH_REDIS=0
LOW_PORTS=0
UNINSTALL=0
PURGE=0
VENV_FROM=""
WHEELS=""
SERVER_NAME=""
SERVICE_USER=lanbill
HTTP_PORT=8080

usage() { sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --os) OS_FAMILY=${2:?--os needs debian, rhel or redos}; shift ;;
    --os=*) OS_FAMILY=${1#--os=} ;;
    --dry-run) DRY_RUN=1 ;;
    --root) ROOT=${2:?--root needs a folder}; shift ;;
    --root=*) ROOT=${1#--root=} ;;
    --no-systemd) USE_SYSTEMD=0 ;;
    --no-packages) USE_PACKAGES=0 ;;
    --postgresql) WITH_POSTGRESQL=1 ;;
    --redis) WITH_REDIS=1 ;;
    --low-ports) LOW_PORTS=1 ;;
    --venv) VENV_FROM=${2:?--venv needs a folder}; shift ;;
    --wheels) WHEELS=${2:?--wheels needs a folder}; shift ;;
    --server-name) SERVER_NAME=${2:?--server-name needs a name}; shift ;;
    --uninstall) UNINSTALL=1 ;;
    --purge) PURGE=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ -n "$ROOT" ]; then
  ROOT=$(mkdir -p "$ROOT" && cd "$ROOT" && pwd)
  USE_SYSTEMD=0
  USE_PACKAGES=0
fi
APP="$ROOT/opt/lanbill"
DATA="$ROOT/var/lib/lanbill"
ETC="$ROOT/etc/lanbill"
LOGS="$ROOT/var/log/lanbill"
UNITS="$ROOT/etc/systemd/system"
LOGROTATE="$ROOT/etc/logrotate.d/lanbill"
STARTED=$SECONDS

say() { printf '==> %s\n' "$*"; }

# run CMD...: do it, or print it on --dry-run.
run() {
  if [ "$DRY_RUN" -eq 1 ]; then
    printf '+ %s\n' "$*"
  else
    "$@"
  fi
}

# write_file PATH MODE: the standard input into PATH (printed on --dry-run).
write_file() {
  local path=$1 mode=$2 content
  content=$(cat)
  if [ "$DRY_RUN" -eq 1 ]; then
    printf '+ write %s (mode %s):\n' "$path" "$mode"
    printf '%s\n' "$content" | sed 's/^/|   /'
    return
  fi
  mkdir -p "$(dirname "$path")"
  printf '%s\n' "$content" > "$path.new"
  chmod "$mode" "$path.new"
  mv -f "$path.new" "$path"
}

# as_service CMD...: run as the lanbill user in the code folder with the instance.
as_service() {
  local env_args=("LANBILL_INSTANCE=$DATA")
  if [ -z "$ROOT" ] && [ "$(id -u)" -eq 0 ]; then
    run runuser -u "$SERVICE_USER" -- env "${env_args[@]}" "$@"
  else
    run env "${env_args[@]}" "$@"
  fi
}

flask_cmd() { as_service "$APP/.venv/bin/python" -m flask --app "$APP/app.py" "$@"; }

detect_os() {
  if [ -n "$OS_FAMILY" ]; then
    :
  elif [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    . /etc/os-release
    case " ${ID:-} ${ID_LIKE:-} " in
      *" redos "*) OS_FAMILY=redos ;;
      *" debian "*|*" ubuntu "*) OS_FAMILY=debian ;;
      *" rhel "*|*" fedora "*|*" centos "*|*" rocky "*|*" almalinux "*) OS_FAMILY=rhel ;;
      *) OS_FAMILY=unknown ;;
    esac
  else
    OS_FAMILY=unknown
  fi
  case "$OS_FAMILY" in
    debian) PYTHON=python3; NGINX_SITE="$ROOT/etc/nginx/sites-available/lanbill.conf"
            NGINX_LINK="$ROOT/etc/nginx/sites-enabled/lanbill.conf" ;;
    rhel) PYTHON=python3.11; NGINX_SITE="$ROOT/etc/nginx/conf.d/lanbill.conf"; NGINX_LINK="" ;;
    redos) PYTHON=python3; NGINX_SITE="$ROOT/etc/nginx/conf.d/lanbill.conf"; NGINX_LINK="" ;;
    *) echo "install.sh: this OS is not RED OS 8, RHEL 9 family or Debian 12; force one with --os" >&2; exit 2 ;;
  esac
  say "OS family: $OS_FAMILY"
}

install_packages() {
  local packages
  if [ "$USE_PACKAGES" -eq 0 ]; then
    say "system packages: skipped"
    return
  fi
  say "system packages"
  if [ "$OS_FAMILY" = debian ]; then
    packages=(python3 python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
              nginx sqlite3 logrotate ca-certificates)
    [ "$WITH_POSTGRESQL" -eq 1 ] && packages+=(postgresql postgresql-client)
    [ "$WITH_REDIS" -eq 1 ] && packages+=(redis-server)
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
  else
    if [ "$OS_FAMILY" = rhel ]; then
      packages=(python3.11 python3.11-pip)
    else
      packages=(python3 python3-pip)
    fi
    packages+=(pango harfbuzz dejavu-sans-fonts nginx sqlite logrotate policycoreutils-python-utils)
    [ "$WITH_POSTGRESQL" -eq 1 ] && packages+=(postgresql-server postgresql)
    [ "$WITH_REDIS" -eq 1 ] && packages+=(redis)
    run dnf install -y "${packages[@]}"
  fi
}

create_user() {
  if [ -n "$ROOT" ]; then
    say "system user: skipped (--root)"
    return
  fi
  if id "$SERVICE_USER" >/dev/null 2>&1; then
    say "system user $SERVICE_USER: exists"
  else
    say "system user $SERVICE_USER"
    run useradd --system --home-dir /var/lib/lanbill --no-create-home --shell /sbin/nologin "$SERVICE_USER"
  fi
}

owned() {  # owned OWNER:GROUP PATH...
  local owner=$1
  shift
  [ -n "$ROOT" ] || run chown "$owner" "$@"
}

installed_version() {
  sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$1/lanbill/__init__.py" 2>/dev/null || true
}

backup_before_upgrade() {
  say "backup before the upgrade"
  flask_cmd backup
}

install_code() {
  say "code into $APP"
  run mkdir -p "$(dirname "$APP")"
  run rm -rf "$APP.new"
  run mkdir -p "$APP.new"
  if [ "$DRY_RUN" -eq 1 ]; then
    printf '+ tar -C %s (code without .git, .venv, instance, tests) | tar -C %s -x\n' "$SOURCE" "$APP.new"
  else
    tar -C "$SOURCE" --exclude=./.git --exclude=./.venv --exclude=./instance --exclude=./tests \
        --exclude=./build --exclude=./.pytest_cache --exclude=./.ruff_cache --exclude=./.ci --exclude='*.pyc' \
        --exclude=__pycache__ -cf - . | tar -C "$APP.new" -xf -
  fi
  if [ -n "$VENV_FROM" ]; then
    run ln -sfn "$VENV_FROM" "$APP.new/.venv"
  elif [ -e "$APP/.venv" ] && [ ! -L "$APP/.venv" ]; then
    run mv "$APP/.venv" "$APP.new/.venv"
  fi
  if [ -e "$APP" ]; then
    run rm -rf "$APP.old"
    run mv "$APP" "$APP.old"
  fi
  run mv "$APP.new" "$APP"
  run rm -rf "$APP.old"
}

install_venv() {
  if [ -n "$VENV_FROM" ]; then
    say "virtualenv: $VENV_FROM (--venv)"
    return
  fi
  say "virtualenv $APP/.venv"
  [ -x "$APP/.venv/bin/python" ] || run "$PYTHON" -m venv "$APP/.venv"
  if [ -n "$WHEELS" ]; then
    run "$APP/.venv/bin/pip" install --quiet --no-index --find-links "$WHEELS" -r "$APP/requirements.txt"
  else
    run "$APP/.venv/bin/pip" install --quiet --upgrade pip
    run "$APP/.venv/bin/pip" install --quiet -r "$APP/requirements.txt"
  fi
}

install_config() {
  local database_line="" huey_line=""
  say "configuration $ETC/config.py and instance $DATA"
  run mkdir -p "$DATA" "$ETC" "$LOGS"
  run chmod 0750 "$DATA" "$LOGS"
  owned "$SERVICE_USER:$SERVICE_USER" "$DATA" "$LOGS"
  if [ "$WITH_POSTGRESQL" -eq 1 ]; then
    database_line='DATABASE_URL = "postgresql:///lanbill"  # the local server over its socket, user lanbill'
  fi
  if [ "$WITH_REDIS" -eq 1 ]; then
    huey_line='HUEY_URL = "redis://127.0.0.1:6379/0"'
  fi
  if [ -e "$ETC/config.py" ]; then
    say "  $ETC/config.py exists: kept"
  else
    write_file "$ETC/config.py" 0640 <<EOF
# LANBill settings (see lanbill/config.py for every key and its default).
# Read by every process; the instance folder is $DATA.
HTTP_HOST = "127.0.0.1"
HTTP_PORT = $HTTP_PORT
TRUSTED_PROXIES = 1  # nginx in front
BACKUP_DIR = "$DATA/backups"  # elsewhere: add it to the units' ReadWritePaths (a drop-in)
BACKUP_KEEP_DAILY = 7
BACKUP_KEEP_MONTHLY = 12
BACKUP_BY_WORKER = False  # lanbill-backup.timer makes the daily backup
MONITORING_ALLOWED = ["127.0.0.1/32", "::1/128"]
${database_line}
${huey_line}
EOF
    owned "root:$SERVICE_USER" "$ETC/config.py"
  fi
  if [ ! -e "$ETC/env" ]; then
    write_file "$ETC/env" 0640 <<EOF
# Environment of the LANBill services (systemd EnvironmentFile).
LANBILL_INSTANCE=/var/lib/lanbill
LANBILL_ACCESS_LOG=/var/log/lanbill/access.log
EOF
    owned "root:$SERVICE_USER" "$ETC/env"
  fi
  # The instance folder reads config.py; the file itself lives in /etc.
  run ln -sfn "${ROOT:+$ROOT}/etc/lanbill/config.py" "$DATA/config.py"
}

install_postgresql() {
  [ "$WITH_POSTGRESQL" -eq 1 ] || return 0
  say "PostgreSQL: a database and role lanbill"
  if [ "$USE_SYSTEMD" -eq 1 ]; then
    if [ "$OS_FAMILY" != debian ] && [ ! -e /var/lib/pgsql/data/PG_VERSION ]; then
      run postgresql-setup --initdb
    fi
    run systemctl enable --now postgresql
  fi
  if [ -z "$ROOT" ]; then
    run runuser -u postgres -- psql -qc "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lanbill') THEN CREATE ROLE lanbill LOGIN; END IF; END\$\$;"
    if [ "$DRY_RUN" -eq 1 ] || ! runuser -u postgres -- psql -Atqc "SELECT 1 FROM pg_database WHERE datname = 'lanbill'" | grep -q 1; then
      run runuser -u postgres -- createdb -O lanbill lanbill
    fi
  fi
}

install_units() {
  local unit
  say "systemd units in $UNITS"
  run mkdir -p "$UNITS"
  for unit in lanbill-web.service lanbill-agents.service lanbill-worker.service lanbill-backup.service \
              lanbill-backup.timer; do
    run install -m 0644 "$APP/deploy/systemd/$unit" "$UNITS/$unit"
  done
  if [ "$LOW_PORTS" -eq 1 ]; then
    write_file "$UNITS/lanbill-agents.service.d/low-ports.conf" 0644 <<'EOF'
# RADIUS or NetFlow on a port below 1024: only this capability, only for the agents.
[Service]
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
EOF
  fi
}

install_nginx() {
  local name
  name=${SERVER_NAME:-$(hostname -f 2>/dev/null || hostname)}
  say "nginx site $NGINX_SITE"
  write_file "$NGINX_SITE" 0644 <<EOF
# LANBill behind nginx on port 80 (deploy/nginx/lanbill.conf has the TLS variant).
server {
    listen 80;
    server_name $name;
    client_max_body_size 20m;  # MAX_CONTENT_LENGTH

    location /static/ {
        alias /opt/lanbill/static/;
        expires 7d;
    }
    location / {
        proxy_pass http://127.0.0.1:$HTTP_PORT;
        proxy_set_header Host \$host;
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto \$scheme;
        proxy_read_timeout 120s;
    }
}
EOF
  if [ -n "$NGINX_LINK" ]; then
    run mkdir -p "$(dirname "$NGINX_LINK")"
    run ln -sfn "/etc/nginx/sites-available/lanbill.conf" "$NGINX_LINK"
  fi
  if [ "$OS_FAMILY" != debian ] && [ -z "$ROOT" ] && command -v setsebool >/dev/null 2>&1; then
    run setsebool -P httpd_can_network_connect 1
  fi
}

install_logrotate() {
  say "logrotate $LOGROTATE"
  write_file "$LOGROTATE" 0644 <<'EOF'
# gunicorn's access log (LANBILL_ACCESS_LOG); everything else goes to the journal.
/var/log/lanbill/*.log {
    weekly
    rotate 8
    compress
    delaycompress
    missingok
    notifempty
    copytruncate
}
EOF
}

start_services() {
  if [ "$USE_SYSTEMD" -eq 0 ]; then
    say "services: not started (no systemd)"
    return
  fi
  say "services"
  run systemctl daemon-reload
  run systemctl enable lanbill-web lanbill-agents lanbill-worker lanbill-backup.timer
  if [ "$UPGRADE" -eq 1 ]; then
    run systemctl restart lanbill-web lanbill-agents lanbill-worker
  else
    run systemctl start lanbill-web lanbill-agents lanbill-worker
  fi
  run systemctl start lanbill-backup.timer
  run nginx -t
  run systemctl enable nginx
  run systemctl reload-or-restart nginx
}

uninstall() {
  say "uninstall"
  if [ "$USE_SYSTEMD" -eq 1 ]; then
    run systemctl disable --now lanbill-web lanbill-agents lanbill-worker lanbill-backup.timer || true
  fi
  run rm -f "$UNITS/lanbill-web.service" "$UNITS/lanbill-agents.service" "$UNITS/lanbill-worker.service" \
            "$UNITS/lanbill-backup.service" "$UNITS/lanbill-backup.timer"
  run rm -rf "$UNITS/lanbill-agents.service.d" "$APP" "$LOGROTATE" "$NGINX_SITE"
  [ -z "$NGINX_LINK" ] || run rm -f "$NGINX_LINK"
  if [ "$USE_SYSTEMD" -eq 1 ]; then
    run systemctl daemon-reload
    run systemctl reload-or-restart nginx || true
  fi
  if [ "$PURGE" -eq 1 ]; then
    say "purge: data $DATA, configuration $ETC, logs $LOGS"
    run rm -rf "$DATA" "$ETC" "$LOGS"
    if [ -z "$ROOT" ] && id "$SERVICE_USER" >/dev/null 2>&1; then
      run userdel "$SERVICE_USER"
    fi
  else
    say "kept: data $DATA and configuration $ETC (--purge removes them)"
  fi
}

main() {
  if [ "$DRY_RUN" -eq 0 ] && [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (or with --root DIR / --dry-run)" >&2
    exit 1
  fi
  [ "$DRY_RUN" -eq 0 ] || say "dry run: nothing is changed"
  detect_os
  if [ "$UNINSTALL" -eq 1 ]; then
    uninstall
    return
  fi
  UPGRADE=0
  OLD_VERSION=""
  if [ -e "$APP/app.py" ]; then
    UPGRADE=1
    OLD_VERSION=$(installed_version "$APP")
  fi
  NEW_VERSION=$(installed_version "$SOURCE")
  if [ "$UPGRADE" -eq 1 ]; then
    say "upgrade: LANBill $OLD_VERSION -> $NEW_VERSION"
  else
    say "install: LANBill $NEW_VERSION"
  fi
  install_packages
  create_user
  install_config
  install_postgresql
  if [ "$UPGRADE" -eq 1 ]; then
    backup_before_upgrade
    if [ "$USE_SYSTEMD" -eq 1 ]; then
      run systemctl stop lanbill-worker lanbill-agents
    fi
  fi
  install_code
  install_venv
  install_units
  install_nginx
  install_logrotate
  local output="" schema=""
  if [ "$UPGRADE" -eq 1 ]; then
    say "migrations (flask db upgrade)"
    if [ "$DRY_RUN" -eq 1 ]; then
      flask_cmd db upgrade
    else
      schema=$(flask_cmd db upgrade)
      printf '%s\n' "$schema"
    fi
  fi
  say "schema and first data (flask init)"
  if [ "$DRY_RUN" -eq 1 ]; then
    flask_cmd init
  else
    output=$(flask_cmd init)
    printf '%s\n' "$output"
  fi
  start_services
  local name password
  name=${SERVER_NAME:-$(hostname -f 2>/dev/null || hostname)}
  password=$(printf '%s\n' "$output" | sed -n 's/.*one-time password \([^ ]*\) .*/\1/p')
  echo
  if [ "$UPGRADE" -eq 1 ]; then
    say "upgraded LANBill $OLD_VERSION -> $NEW_VERSION in $((SECONDS - STARTED)) s; schema: ${schema:-unchanged}"
  else
    say "LANBill $NEW_VERSION is installed: http://$name/admin/"
  fi
  if [ -n "$password" ]; then
    say "log in as admin with the one-time password: $password"
  fi
}

main
