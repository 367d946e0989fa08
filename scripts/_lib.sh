# Shared by scripts/serve, scripts/test and scripts/services. Source it; do not run it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STATE_DIR="${TSKR_TEST_STATE_DIR:-/tmp/tskr-services-$(id -u)}"
PG_PORT="${TSKR_TEST_PG_PORT:-55432}"
REDIS_PORT="${TSKR_TEST_REDIS_PORT:-56379}"

log() { printf '==> %s\n' "$*" >&2; }

ensure_python() {
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    log "Python 3.11 or newer is required (found: $("$python" --version 2>&1))"; exit 1
  fi
  if [ ! -x "$PY" ]; then
    log "creating virtualenv in .venv"
    "$python" -m venv "$VENV"
  fi
  local stamp="$VENV/.requirements.sha256" want
  want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing Python packages (requirements.txt)"
    "$PY" -m pip install -q --upgrade pip >&2
    "$PY" -m pip install -q -r "$ROOT/requirements.txt" >&2
    echo "$want" > "$stamp"
  fi
}

pg_bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

ensure_debian_packages() {
  local missing=()
  [ -n "$(pg_bindir)" ] && [ -x "$(pg_bindir)/initdb" ] || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
  else
    log "missing: ${missing[*]}. Install them first, e.g.: sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
}

# PostgreSQL refuses to run as root: as root we run it as the 'postgres' user.
as_pg_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_running() { as_pg_user "$(pg_bindir)/pg_ctl" -D "$STATE_DIR/pg" status >/dev/null 2>&1; }
# Our Redis answers on the port and works in our state directory (not somebody else's Redis).
redis_running() {
  local dir
  dir="$(timeout 3 redis-cli -p "$REDIS_PORT" config get dir 2>/dev/null | tail -n 1)"
  [ -n "$dir" ] && [ "$dir" = "$(cd "$STATE_DIR" 2>/dev/null && pwd -P)" ]
}

# Whether something already listens on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Refuses to go on when a port we would start a server on is taken by another process: the server
# would fail to bind, or the tests would talk to somebody else's server.
ensure_ports_free() {
  local name port variable taken=0
  for name in pg redis; do
    if [ "$name" = pg ]; then pg_running && continue; port="$PG_PORT"; variable=TSKR_TEST_PG_PORT
    else redis_running && continue; port="$REDIS_PORT"; variable=TSKR_TEST_REDIS_PORT; fi
    if port_in_use "$port"; then
      log "port $port (for $name) is already in use by another process; free it or choose another with $variable"
      taken=1
    fi
  done
  [ "$taken" = 0 ] || exit 1
}

start_services() {
  ensure_debian_packages
  mkdir -p "$STATE_DIR"
  chmod 755 "$STATE_DIR"
  ensure_ports_free
  STARTED_PG=0; STARTED_REDIS=0
  if ! pg_running; then
    local bindir; bindir="$(pg_bindir)"
    if [ ! -f "$STATE_DIR/pg/PG_VERSION" ]; then
      log "initialising a private PostgreSQL cluster in $STATE_DIR/pg"
      mkdir -p "$STATE_DIR/pg"
      if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$STATE_DIR/pg"; fi
      as_pg_user "$bindir/initdb" -D "$STATE_DIR/pg" -U postgres -A trust -E UTF8 --no-locale >/dev/null
    fi
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    if ! as_pg_user "$bindir/pg_ctl" -D "$STATE_DIR/pg" -l "$STATE_DIR/pg/server.log" -w -t 60 start \
      -o "-p $PG_PORT -k $STATE_DIR/pg -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null; then
      log "PostgreSQL did not start; its log is $STATE_DIR/pg/server.log, which ends with:"
      tail -n 20 "$STATE_DIR/pg/server.log" >&2 2>/dev/null || log "(no log was written)"
      exit 1
    fi
    STARTED_PG=1
  fi
  if ! redis_running; then
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
      --dir "$STATE_DIR" --pidfile "$STATE_DIR/redis.pid" --logfile "$STATE_DIR/redis.log" >/dev/null
    for _ in $(seq 50); do redis_running && break; sleep 0.1; done
    STARTED_REDIS=1
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/tskr"
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
}

stop_pg() { as_pg_user "$(pg_bindir)/pg_ctl" -D "$STATE_DIR/pg" -m fast -w stop >/dev/null 2>&1 || true; }
stop_redis() { redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; }
