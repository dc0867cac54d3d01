#!/usr/bin/env bash
# Local CKAN 2.11 catalog server for tambon-opendata: no Solr, a project-local
# PostgreSQL 15 cluster and Redis, CKAN in its own virtualenv, gunicorn.
#
#   ckan.sh install   apt packages if missing; CKAN venv (reused while
#                     requirements.txt is unchanged); our extension (editable)
#   ckan.sh start     postgres + redis + databases + ckan.ini + db migrations +
#                     sysadmin token + gunicorn; waits for status_show; writes
#                     $TAMBON_CKAN_RUN/env (CKAN_URL, CKAN_API_TOKEN, mode 600)
#   ckan.sh stop      stops gunicorn, redis and postgres of the run dir
#   ckan.sh status    what runs (exit 0 only if all three run)
#   ckan.sh url       prints CKAN_URL
#   ckan.sh env       prints the env file's shell lines (includes the token:
#                     meant for `eval "$(ckan.sh env)"`); `env-file` its path
#   ckan.sh harvest SOURCE
#                     national role only: runs one harvest job of the harvest
#                     source SOURCE (name or id) in this process, without the
#                     gather/fetch queue consumers, and prints the finished job
#                     (harvest_job_show, with its errors) as JSON
#
# Roles (TAMBON_CKAN_ROLE): `catalog` (default) is our catalog. `national` is a
# second CKAN playing the national catalog (GD-Catalog) that harvests ours:
# ckanext-harvest's `harvest` and `ckan_harvester` plugins, the same Thai GDC
# schema and search backend, no DataStore; its web server and harvest runs
# reach no address other than 127.0.0.1 (HTTP proxy variables point at a closed
# local port); default run dir $TAMBON_CKAN_HOME/run-national-$TAMBON_CKAN_PORT.
#
# Settings (environment): TAMBON_CKAN_HOME (default <repo>/.cache/ckan),
# TAMBON_CKAN_PORT (5000), TAMBON_CKAN_PG_PORT (54329),
# TAMBON_CKAN_REDIS_PORT (63799), TAMBON_CKAN_RUN (default
# $TAMBON_CKAN_HOME/run-$TAMBON_CKAN_PORT), TAMBON_CKAN_PYTHON (python3),
# TAMBON_CKAN_WORKERS (2), TAMBON_CKAN_STATEMENT_TIMEOUT (5s: PostgreSQL's
# statement_timeout for CKAN's database roles), TAMBON_CKAN_WORKER_TIMEOUT (60:
# seconds before gunicorn replaces a worker stuck in one request),
# TAMBON_CKAN_ROLE (catalog | national, see above).
# TAMBON_CKAN_SCHEMA (an absolute path: another scheming dataset schema, see
# write_schema_override).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

TAMBON_CKAN_HOME="$(realpath -m "${TAMBON_CKAN_HOME:-$REPO_ROOT/.cache/ckan}")"
TAMBON_CKAN_PORT="${TAMBON_CKAN_PORT:-5000}"
TAMBON_CKAN_PG_PORT="${TAMBON_CKAN_PG_PORT:-54329}"
TAMBON_CKAN_REDIS_PORT="${TAMBON_CKAN_REDIS_PORT:-63799}"
TAMBON_CKAN_ROLE="${TAMBON_CKAN_ROLE:-catalog}"
case "$TAMBON_CKAN_ROLE" in
    catalog) _default_run="$TAMBON_CKAN_HOME/run-$TAMBON_CKAN_PORT" ;;
    national) _default_run="$TAMBON_CKAN_HOME/run-national-$TAMBON_CKAN_PORT" ;;
    *)
        printf '[ckan.sh] error: TAMBON_CKAN_ROLE must be catalog or national, not %s\n' "$TAMBON_CKAN_ROLE" >&2
        exit 2
        ;;
esac
TAMBON_CKAN_RUN="$(realpath -m "${TAMBON_CKAN_RUN:-$_default_run}")"
TAMBON_CKAN_PYTHON="${TAMBON_CKAN_PYTHON:-python3}"
TAMBON_CKAN_WORKERS="${TAMBON_CKAN_WORKERS:-2}"
TAMBON_CKAN_STATEMENT_TIMEOUT="${TAMBON_CKAN_STATEMENT_TIMEOUT:-5s}"
TAMBON_CKAN_WORKER_TIMEOUT="${TAMBON_CKAN_WORKER_TIMEOUT:-60}"

VENV="$TAMBON_CKAN_HOME/venv"
REQUIREMENTS="$SCRIPT_DIR/requirements.txt"
EXT_DIR="$SCRIPT_DIR/ckanext-tambon"
RUN="$TAMBON_CKAN_RUN"
LOGS="$RUN/logs"
PGDATA="$RUN/pgdata"
PGSOCK="$RUN/pgsock"
INI="$RUN/ckan.ini"
ENV_FILE="$RUN/env"
SECRETS="$RUN/secrets"
GUNICORN_PID="$RUN/gunicorn.pid"
REDIS_PID="$RUN/redis.pid"
CKAN_URL="http://127.0.0.1:$TAMBON_CKAN_PORT"
ADMIN_USER="tambon_admin"
INSTALL_LOG="$TAMBON_CKAN_HOME/install.log"
# requirements.txt's lines from this marker on: the national catalog's harvester (install_harvest)
HARVEST_MARK='^# -- harvest'
APT_PACKAGES=(postgresql redis-server libpq-dev gcc)

log() { printf '[ckan.sh] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
# die, with the end of the log that says why (a throw-away run dir, as tests and CI use, is removed after a
# failure). Not for setup.log or harvest.log: CKAN's commands may print a user's secrets there.
die_see() {
    local file=$1
    shift
    [[ -f "$file" ]] && tail -n 30 "$file" | sed 's/^/[ckan.sh] | /' >&2
    die "$*, see $file"
}

# ---------------------------------------------------------------- helpers --

# pg_bindir, as_pg, port_open
# shellcheck source=../../deploy/pg-helpers.sh
source "$REPO_ROOT/deploy/pg-helpers.sh"

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

read_pid() { [[ -s "$1" ]] && tr -dc '0-9' <"$1" || true; }

# A pid from a pid file only counts if that process still is what we started.
pid_is() {
    local pid="$1" what="$2"
    pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$what"
}

sha() { sha256sum | cut -c1-16; }

http_ok() { curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; }

ckan_cli() { CKAN_INI="$INI" "$VENV/bin/ckan" -c "$INI" "$@"; }

is_national() { [[ "$TAMBON_CKAN_ROLE" == national ]]; }

# The national catalog's processes (web server, harvest runs) reach 127.0.0.1 only: every other address
# goes to an HTTP proxy on a closed local port (requests, which the harvester uses, honours these).
local_only() {
    local closed="http://127.0.0.1:9"
    env http_proxy="$closed" https_proxy="$closed" HTTP_PROXY="$closed" HTTPS_PROXY="$closed" \
        ALL_PROXY="$closed" all_proxy="$closed" no_proxy="127.0.0.1" NO_PROXY="127.0.0.1" "$@"
}

# A command as the role runs it: the national role's through local_only, ours as it is.
role_run() {
    if is_national; then local_only "$@"; else "$@"; fi
}

psql_admin() {
    as_pg "$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$TAMBON_CKAN_PG_PORT" -U postgres "$@"
}

secret() {
    # secret NAME: a random value kept in $SECRETS (mode 600), made once.
    local name="$1" value
    touch "$SECRETS" && chmod 600 "$SECRETS"
    value="$(sed -n "s/^$name=//p" "$SECRETS" | tail -n1)"
    if [[ -z "$value" ]]; then
        value="$(head -c 32 /dev/urandom | sha256sum | cut -c1-32)"
        printf '%s=%s\n' "$name" "$value" >>"$SECRETS"
    fi
    printf '%s' "$value"
}

# ---------------------------------------------------------------- install --

apt_install_missing() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ! "$TAMBON_CKAN_PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
        missing+=(python3-venv)
    fi
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "apt-get install ${missing[*]}"
    local sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# pip with its output in $INSTALL_LOG (shown only when it fails)
pip_quiet() {
    if ! "$VENV/bin/pip" --disable-pip-version-check "$@" >>"$INSTALL_LOG" 2>&1; then
        grep -v '^WARNING: Location' "$INSTALL_LOG" | tail -n 30 >&2
        die_see "$INSTALL_LOG" "pip $* failed"
    fi
}

# The virtualenv is shared by every cluster of one TAMBON_CKAN_HOME (tests run side by side start
# theirs at once): one installer at a time, the others wait and then find it up to date.
install_lock() {
    mkdir -p "$TAMBON_CKAN_HOME"
    exec 8>"$TAMBON_CKAN_HOME/.install.lock"
    flock -w 900 8 || die "another ckan.sh has been installing into $VENV for 15 minutes"
}

cmd_install() {
    install_lock
    apt_install_missing
    : >"$INSTALL_LOG"
    local py_version req_hash stamp="$VENV/.tambon-requirements"
    py_version="$("$TAMBON_CKAN_PYTHON" -c 'import sys; print(sys.version)')"
    # the harvest lines are left out: adding them does not rebuild a virtualenv (install_harvest adds them)
    req_hash="$({ main_requirements; echo "$py_version"; } | sha)"
    if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$req_hash" ]]; then
        log "CKAN venv up to date ($VENV)"
    else
        log "creating CKAN venv $VENV (requirements changed or missing; log: $INSTALL_LOG)"
        rm -rf "$VENV"
        "$TAMBON_CKAN_PYTHON" -m venv "$VENV"
        pip_quiet install --upgrade pip==24.3.1
        pip_quiet install -r "$REQUIREMENTS"
        echo "$req_hash" >"$stamp"
        rm -f "$VENV/.tambon-extension" "$VENV/.tambon-harvest"
    fi
    install_extension
    is_national && install_harvest
    log "install done"
}

main_requirements() { sed "/$HARVEST_MARK/,\$d" "$REQUIREMENTS"; }

harvest_requirements() { sed -n "/$HARVEST_MARK/,\$p" "$REQUIREMENTS" | sed -e 's/#.*//' -e '/^[[:space:]]*$/d'; }

# ckanext-harvest (the national role only) added to the shared virtualenv under the install lock, without
# its dependencies (they are pinned in the main requirements): nothing else in the virtualenv changes.
install_harvest() {
    local want
    want="$(harvest_requirements | sha)"
    if [[ "$(cat "$VENV/.tambon-harvest" 2>/dev/null)" == "$want" ]] \
        && "$VENV/bin/python" -c 'import ckanext.harvest.harvesters' 2>/dev/null; then
        return 0
    fi
    log "installing the harvester into $VENV ($(harvest_requirements | tr '\n' ' '))"
    # shellcheck disable=SC2046 # one requirement per line, no spaces
    pip_quiet install --no-deps $(harvest_requirements)
    echo "$want" >"$VENV/.tambon-harvest"
}

# The extension is installed editable: only a changed pyproject.toml (e.g. a new
# plugin entry point) needs a reinstall. Cheap, so `start` checks it too.
install_extension() {
    local ext_hash
    compile_translations
    ext_hash="$({ echo "$EXT_DIR"; cat "$EXT_DIR/pyproject.toml"; } | sha)"
    if [[ "$(cat "$VENV/.tambon-extension" 2>/dev/null)" != "$ext_hash" ]] \
        || ! "$VENV/bin/python" -c 'import ckanext.tambon' 2>/dev/null; then
        log "installing ckanext-tambon (editable)"
        mkdir -p "$TAMBON_CKAN_HOME"
        pip_quiet install --no-deps --no-build-isolation -e "$EXT_DIR"
        echo "$ext_hash" >"$VENV/.tambon-extension"
    fi
}

# Our Thai catalogue (ckanext-tambon.po, served through CKAN's ITranslation) compiled on every
# install and start, so an edited .po is served without a manual step; the .mo is replaced only
# when its bytes change (the committed one then stays as it is).
compile_translations() {
    local po mo tmp
    for po in "$EXT_DIR"/ckanext/tambon/i18n/*/LC_MESSAGES/*.po; do
        [[ -f "$po" ]] || continue
        mo="${po%.po}.mo"
        tmp="$mo.$$.tmp"
        "$VENV/bin/pybabel" -q compile -i "$po" -o "$tmp" >>"$INSTALL_LOG" 2>&1 \
            || { rm -f "$tmp"; die_see "$INSTALL_LOG" "pybabel compile $po failed"; }
        if cmp -s "$tmp" "$mo"; then rm -f "$tmp"; else mv -f "$tmp" "$mo"; fi
    done
}

# --------------------------------------------------------------- postgres --

pg_running() { [[ -f "$PGDATA/PG_VERSION" ]] && as_pg "$(pg_bindir)/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1; }

start_postgres() {
    local bindir
    bindir="$(pg_bindir)" || die "PostgreSQL not installed: run ckan.sh install"
    mkdir -p "$PGSOCK"
    chown postgres: "$PGSOCK" 2>/dev/null || true
    chmod 700 "$PGSOCK"
    (( ${#PGSOCK} < 90 )) || die "socket dir path too long for PostgreSQL: $PGSOCK"
    [[ -f "$PGDATA/PG_VERSION" ]] || log "initdb $PGDATA"
    pg_initdb "$bindir" "$PGDATA" "$LOGS/postgres-initdb.log"
    # Settings are rewritten on every start so a changed port or dir applies.
    as_pg tee "$PGDATA/tambon.conf" >/dev/null <<EOF
# written by ckan.sh
port = $TAMBON_CKAN_PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGSOCK'
synchronous_commit = off
max_connections = 50
shared_buffers = '64MB'
# no one statement may fill the disk with temporary files (sorts, hashes)
temp_file_limit = '1GB'
EOF
    if pg_running; then
        log "postgres already running (port $TAMBON_CKAN_PG_PORT)"
        return 0
    fi
    port_open "$TAMBON_CKAN_PG_PORT" && die "port $TAMBON_CKAN_PG_PORT is taken by another program"
    touch "$LOGS/postgres.log"
    chown postgres: "$LOGS/postgres.log" 2>/dev/null || true
    log "starting postgres on 127.0.0.1:$TAMBON_CKAN_PG_PORT"
    as_pg "$bindir/pg_ctl" start -D "$PGDATA" -l "$LOGS/postgres.log" -w -t 60 </dev/null >/dev/null 9>&- \
        || die_see "$LOGS/postgres.log" "postgres did not start"
}

stop_postgres() {
    [[ -f "$PGDATA/PG_VERSION" ]] || return 0
    if pg_running; then
        log "stopping postgres"
        as_pg "$(pg_bindir)/pg_ctl" stop -D "$PGDATA" -m fast -w -t 60 >/dev/null \
            || as_pg "$(pg_bindir)/pg_ctl" stop -D "$PGDATA" -m immediate -w -t 30 >/dev/null
    fi
}

setup_databases() {
    local ckan_pw ro_pw
    ckan_pw="$(secret CKAN_DB_PASSWORD)"
    ro_pw="$(secret DATASTORE_RO_PASSWORD)"
    psql_admin -d postgres >/dev/null <<EOF
SELECT 'CREATE ROLE ckan_default LOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ckan_default') \gexec
SELECT 'CREATE ROLE datastore_ro LOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'datastore_ro') \gexec
ALTER ROLE ckan_default PASSWORD '$ckan_pw';
ALTER ROLE datastore_ro PASSWORD '$ro_pw';
-- No web request may hold PostgreSQL for long, whatever it asks. The DataStore
-- sets its own per-transaction timeout for its writes (SET LOCAL, 60 s), so the
-- publisher's bulk loads keep working; migrations run with PGOPTIONS (below).
ALTER ROLE ckan_default SET statement_timeout = '$TAMBON_CKAN_STATEMENT_TIMEOUT';
ALTER ROLE datastore_ro SET statement_timeout = '$TAMBON_CKAN_STATEMENT_TIMEOUT';
SELECT 'CREATE DATABASE ckan_default OWNER ckan_default ENCODING ''UTF8'''
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'ckan_default') \gexec
SELECT 'CREATE DATABASE datastore_default OWNER ckan_default ENCODING ''UTF8'''
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'datastore_default') \gexec
EOF
    # trigram similarity for fuzzy search terms (villag~) in ckanext-tambon's search index
    psql_admin -d ckan_default -c "CREATE EXTENSION IF NOT EXISTS pg_trgm" >/dev/null
}

# ------------------------------------------------------------------ redis --

# Our redis: the pid file's process, or (pid file lost) the server on our
# port whose data dir is this run dir's.
redis_pid() {
    local pid
    pid="$(read_pid "$REDIS_PID")"
    if pid_is "$pid" redis-server; then
        echo "$pid"
    elif [[ "$(redis-cli -p "$TAMBON_CKAN_REDIS_PORT" config get dir 2>/dev/null | sed -n 2p)" == "$RUN/redis" ]]; then
        redis-cli -p "$TAMBON_CKAN_REDIS_PORT" info server 2>/dev/null | sed -n 's/^process_id:\([0-9]*\).*/\1/p'
    fi
}

redis_running() { [[ -n "$(redis_pid)" ]]; }

start_redis() {
    if redis_running; then
        log "redis already running (port $TAMBON_CKAN_REDIS_PORT)"
        return 0
    fi
    rm -f "$REDIS_PID"
    port_open "$TAMBON_CKAN_REDIS_PORT" && die "port $TAMBON_CKAN_REDIS_PORT is taken by another program"
    mkdir -p "$RUN/redis"
    log "starting redis on 127.0.0.1:$TAMBON_CKAN_REDIS_PORT"
    redis-server --port "$TAMBON_CKAN_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$RUN/redis" --daemonize yes --pidfile "$REDIS_PID" \
        --logfile "$LOGS/redis.log" </dev/null >/dev/null 2>&1 9>&- || die_see "$LOGS/redis.log" "redis did not start"
    local i
    for i in $(seq 50); do
        redis-cli -p "$TAMBON_CKAN_REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.1
    done
    die_see "$LOGS/redis.log" "redis does not answer"
}

stop_redis() {
    local pid
    pid="$(redis_pid)"
    if [[ -n "$pid" ]]; then
        log "stopping redis"
        redis-cli -p "$TAMBON_CKAN_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
        wait_gone "$pid" 10 || kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$REDIS_PID"
}

# ------------------------------------------------------------- ckan setup --

write_config() {
    local ckan_pw ro_pw dburl
    ckan_pw="$(secret CKAN_DB_PASSWORD)"
    ro_pw="$(secret DATASTORE_RO_PASSWORD)"
    dburl="postgresql://ckan_default:$ckan_pw@127.0.0.1:$TAMBON_CKAN_PG_PORT"
    if [[ ! -f "$INI" ]]; then
        log "generating $INI"
        "$VENV/bin/ckan" generate config "$INI" >>"$LOGS/setup.log" 2>&1 || die "ckan generate config failed"
        chmod 600 "$INI"
    fi
    mkdir -p "$RUN/storage"
    # Applied on every start, so edits here reach existing run dirs. webpage_view shows each round's
    # quality report inside its resource page; the publisher makes that view itself (not a default view).
    "$VENV/bin/ckan" config-tool "$INI" \
        "ckan.site_url=$CKAN_URL" \
        "ckan.site_title=Tambon Open Data" \
        "ckan.site_id=tambon" \
        "sqlalchemy.url=$dburl/ckan_default" \
        "ckan.datastore.write_url=$dburl/datastore_default" \
        "ckan.datastore.read_url=postgresql://datastore_ro:$ro_pw@127.0.0.1:$TAMBON_CKAN_PG_PORT/datastore_default" \
        "ckan.redis.url=redis://127.0.0.1:$TAMBON_CKAN_REDIS_PORT/0" \
        "solr_url=http://127.0.0.1:9/solr/not-used" \
        "ckan.plugins=tambon_portal activity tambon_gdc tambon_publishing tambon_limits scheming_datasets tambon_pgsearch datastore dcat dcat_json_interface structured_data datatables_view text_view webpage_view tambon_table_view" \
        "ckan.views.default_views=datatables_view text_view tambon_table_view" \
        "scheming.dataset_schemas=ckanext.tambon:thai_gdc_dataset.yaml" \
        "scheming.presets=ckanext.scheming:presets.json" \
        "scheming.dataset_fallback=false" \
        "licenses_group_url=file://$EXT_DIR/ckanext/tambon/licenses.json" \
        "ckanext.dcat.rdf.profiles=euro_dcat_ap_3 tambon_dcat" \
        "ckanext.dcat.resource.inherit.license=true" \
        "ckan.locale_default=th" \
        "ckan.locales_offered=th en" \
        "ckan.storage_path=$RUN/storage" \
        "ckan.max_resource_size=2048" \
        "ckan.auth.create_user_via_web=false" \
        "ckan.datastore.default_fts_lang=simple" \
        "ckan.datastore.default_fts_index_method=gin" \
        "debug=false" \
        >>"$LOGS/setup.log" 2>&1 || die "ckan config-tool failed, see $LOGS/setup.log"
    is_national && write_national_config
    write_schema_override
    write_limits
}

# TAMBON_CKAN_SCHEMA=/absolute/path.yaml: another scheming dataset schema in place of ours (e.g. one with the
# Thai GDC fields only, as an agency catalog running ckanext-thai_gdc has: tests/integration/test_ckan_real_schema.py).
# Set on every start like the settings above; without it the schema is ours again.
write_schema_override() {
    [[ -n "${TAMBON_CKAN_SCHEMA:-}" ]] || return 0
    [[ "$TAMBON_CKAN_SCHEMA" == /* && -f "$TAMBON_CKAN_SCHEMA" ]] \
        || die "TAMBON_CKAN_SCHEMA must be the absolute path of a schema file, not $TAMBON_CKAN_SCHEMA"
    "$VENV/bin/ckan" config-tool "$INI" "scheming.dataset_schemas=file://$TAMBON_CKAN_SCHEMA" \
        >>"$LOGS/setup.log" 2>&1 || die "ckan config-tool (TAMBON_CKAN_SCHEMA) failed, see $LOGS/setup.log"
}

# The national catalog (GD-Catalog) over the settings above: the harvester, our Thai GDC schema (its
# validators: tambon_gdc), our search backend (no Solr; tambon_limits declares its caps); no DataStore,
# no views, no portal pages. Harvest jobs go through ckanext-harvest's Redis queues (ckan.redis.url) when
# the consumers run; `ckan.sh harvest` runs a job without them.
write_national_config() {
    "$VENV/bin/ckan" config-tool "$INI" \
        "ckan.plugins=harvest ckan_harvester tambon_gdc tambon_limits scheming_datasets tambon_pgsearch" \
        "ckan.views.default_views=" \
        "ckan.site_title=GD-Catalog (national catalog, local)" \
        "ckan.site_id=gd-catalog" \
        "ckan.harvest.mq.type=redis" \
        >>"$LOGS/setup.log" 2>&1 || die "ckan config-tool (national) failed, see $LOGS/setup.log"
}

# The caps of ckanext-tambon (limits.py, body_limit.py), written with their
# defaults once so that they can be seen and edited in ckan.ini; an edited
# value is kept on later starts.
LIMIT_DEFAULTS=(
    "ckanext.tambon.search.max_length=1000"
    "ckanext.tambon.search.max_terms=32"
    "ckanext.tambon.search.max_depth=8"
    "ckanext.tambon.search.max_rows=1000"
    "ckanext.tambon.search.max_start=100000"
    "ckanext.tambon.search.max_fields=50"
    "ckanext.tambon.api.max_body_bytes=1048576"
    "ckanext.tambon.api.datastore_max_body_bytes=67108864"
    "ckanext.tambon.datastore.search_timeout_ms=5000"
    "ckanext.tambon.datastore.load_timeout_ms=55000"
)

write_limits() {
    local setting missing=()
    for setting in "${LIMIT_DEFAULTS[@]}"; do
        grep -qE "^[[:space:]]*${setting%%=*}[[:space:]]*=" "$INI" || missing+=("$setting")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    "$VENV/bin/ckan" config-tool "$INI" "${missing[@]}" >>"$LOGS/setup.log" 2>&1 \
        || die "ckan config-tool failed, see $LOGS/setup.log"
}

migrate_database() {
    # Schema migrations (core and plugins; in 2.11 `db init` is an alias of
    # `db upgrade`) and DataStore permissions: once per installed venv.
    local stamp="$RUN/.db-ready" want stamps=("$VENV/.tambon-requirements" "$VENV/.tambon-extension")
    if is_national; then stamps+=("$VENV/.tambon-harvest"); fi
    want="$(cat "${stamps[@]}" 2>/dev/null | sha)"
    [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]] && return 0
    log "ckan db upgrade (creates the schema on first start)"
    # a migration may rewrite a big table: no statement timeout for it (libpq reads PGOPTIONS)
    PGOPTIONS="-c statement_timeout=0" ckan_cli db upgrade >>"$LOGS/setup.log" 2>&1 \
        || die "ckan db upgrade failed, see $LOGS/setup.log"
    if is_national; then
        # ckanext-harvest's tables (harvest_source, harvest_job, harvest_object...); `db upgrade` above
        # applies them too, this names them
        PGOPTIONS="-c statement_timeout=0" ckan_cli db upgrade -p harvest >>"$LOGS/setup.log" 2>&1 \
            || die "ckan db upgrade -p harvest failed, see $LOGS/setup.log"
    else
        ckan_cli datastore set-permissions 2>>"$LOGS/setup.log" \
            | psql_admin -d datastore_default >>"$LOGS/setup.log" 2>&1 \
            || die "datastore set-permissions failed, see $LOGS/setup.log"
    fi
    # index rows made by an older version of our search plugin are made again (none on a new catalog)
    PGOPTIONS="-c statement_timeout=0" ckan_cli tambon-search refresh 2>>"$LOGS/setup.log" | tee -a "$LOGS/setup.log" \
        | sed 's/^/[ckan.sh] /' >&2 || die "ckan tambon-search refresh failed, see $LOGS/setup.log"
    echo "$want" >"$stamp"
}

ensure_admin() {
    local have
    have="$(psql_admin -d ckan_default -tA -c \
        "SELECT count(*) FROM \"user\" WHERE name = '$ADMIN_USER' AND sysadmin AND state = 'active'")"
    [[ "$have" == 1 ]] && return 0
    log "creating sysadmin $ADMIN_USER"
    # `sysadmin add` offers to create a missing user: answer yes
    printf 'y\n' | ckan_cli sysadmin add "$ADMIN_USER" "email=$ADMIN_USER@localhost.invalid" \
        "password=$(secret ADMIN_PASSWORD)" >>"$LOGS/setup.log" 2>&1 \
        || die "ckan sysadmin add failed, see $LOGS/setup.log"
}

token_works() {
    local token="$1"
    [[ -n "$token" ]] || return 1
    curl -fsS -o /dev/null --max-time 10 -H "Authorization: $token" \
        "$CKAN_URL/api/3/action/api_token_list?user_id=$ADMIN_USER" 2>/dev/null
}

write_env() {
    local token
    token="$(sed -n 's/^CKAN_API_TOKEN=//p' "$ENV_FILE" 2>/dev/null || true)"
    if ! token_works "$token"; then
        log "creating API token for $ADMIN_USER"
        token="$(ckan_cli user token add "$ADMIN_USER" "tambon-pipeline" 2>>"$LOGS/setup.log" | tail -n1 | tr -d '[:space:]')"
        token_works "$token" || die "new API token is not accepted, see $LOGS/setup.log"
    fi
    (
        umask 077
        printf 'CKAN_URL=%s\nCKAN_API_TOKEN=%s\n' "$CKAN_URL" "$token" >"$ENV_FILE.tmp"
    )
    chmod 600 "$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# --------------------------------------------------------------- gunicorn --

# Our gunicorn master: the pid file's process, or (pid file lost or
# overwritten) the gunicorn started with this run dir's --pid path.
gunicorn_pid() {
    local pid file parent
    pid="$(read_pid "$GUNICORN_PID")"
    if pid_is "$pid" "$VENV/bin/gunicorn" && pid_is "$pid" "$GUNICORN_PID"; then
        echo "$pid"
        return 0
    fi
    for file in $(grep -laF -- "$GUNICORN_PID" /proc/[0-9]*/cmdline 2>/dev/null); do
        pid="${file#/proc/}"
        pid="${pid%/cmdline}"
        pid_is "$pid" "$VENV/bin/gunicorn" || continue
        parent="$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null)"
        pid_is "$parent" "$GUNICORN_PID" && continue # a worker
        echo "$pid"
        return 0
    done
}

gunicorn_running() { [[ -n "$(gunicorn_pid)" ]]; }

start_gunicorn() {
    if gunicorn_running; then
        if http_ok "$CKAN_URL/api/3/action/status_show"; then
            log "CKAN already running at $CKAN_URL"
            return 0
        fi
        log "gunicorn runs but does not answer: restarting it"
        stop_gunicorn
    fi
    rm -f "$GUNICORN_PID"
    port_open "$TAMBON_CKAN_PORT" && die "port $TAMBON_CKAN_PORT is taken by another program"
    log "starting CKAN (gunicorn) at $CKAN_URL"
    # Request limits: gunicorn's largest request line (8190 bytes: a GET q of
    # ~900 Thai characters, percent-encoded; longer searches go by POST), at
    # most 100 headers of 8190 bytes; a worker stuck in one request for
    # TAMBON_CKAN_WORKER_TIMEOUT s is killed and replaced; each worker is
    # replaced after 2000-2200 requests (staggered), bounding slow leaks.
    CKAN_INI="$INI" HOME="$RUN" role_run setsid "$VENV/bin/gunicorn" \
        --chdir "$SCRIPT_DIR" --bind "127.0.0.1:$TAMBON_CKAN_PORT" \
        --workers "$TAMBON_CKAN_WORKERS" --timeout "$TAMBON_CKAN_WORKER_TIMEOUT" --graceful-timeout 30 \
        --limit-request-line 8190 --limit-request-fields 100 --limit-request-field_size 8190 \
        --max-requests 2000 --max-requests-jitter 200 --no-control-socket \
        --pid "$GUNICORN_PID" --access-logfile "$LOGS/access.log" \
        --error-logfile "$LOGS/gunicorn.log" --capture-output \
        wsgi:application </dev/null >>"$LOGS/gunicorn.log" 2>&1 9>&- &
    local launcher=$! i t0=$SECONDS
    for i in $(seq 240); do
        if http_ok "$CKAN_URL/api/3/action/status_show"; then
            log "CKAN is up ($((SECONDS - t0)) s)"
            return 0
        fi
        if ! pid_alive "$launcher" && ! gunicorn_running; then
            tail -n 30 "$LOGS/gunicorn.log" >&2 || true
            die_see "$LOGS/gunicorn.log" "gunicorn exited"
        fi
        sleep 0.25
    done
    tail -n 30 "$LOGS/gunicorn.log" >&2 || true
    die_see "$LOGS/gunicorn.log" "CKAN did not answer within 60 s"
}

wait_gone() {
    local pid="$1" secs="$2" i
    for i in $(seq $((secs * 10))); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

stop_gunicorn() {
    local pid
    pid="$(gunicorn_pid)"
    if [[ -n "$pid" ]]; then
        log "stopping CKAN (gunicorn $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_gone "$pid" 30; then
            pkill -KILL -P "$pid" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 5 || true
        fi
    fi
    rm -f "$GUNICORN_PID"
}

# --------------------------------------------------------------- commands --

cmd_start() {
    install_lock
    [[ -x "$VENV/bin/ckan" ]] || cmd_install
    install_extension
    if is_national; then install_harvest; fi
    exec 8>&- # installed: other clusters may install or start now
    mkdir -p "$RUN" "$LOGS"
    chmod 711 "$RUN" # postgres must reach pgdata and its socket; nobody lists
    exec 9>"$RUN/.lock"
    flock -w 300 9 || die "another ckan.sh holds $RUN/.lock"
    start_postgres
    start_redis
    setup_databases
    write_config
    migrate_database
    ensure_admin
    start_gunicorn
    write_env
    log "ready: $CKAN_URL (credentials in $ENV_FILE)"
}

cmd_stop() {
    [[ -d "$RUN" ]] || { log "nothing to stop ($RUN does not exist)"; return 0; }
    exec 9>"$RUN/.lock"
    flock -w 120 9 || die "another ckan.sh holds $RUN/.lock"
    stop_gunicorn
    stop_redis
    stop_postgres
    log "stopped ($RUN)"
}

# One harvest job of a source, gather then fetch and import of every object, in this process (what
# ckanext-harvest's gather and fetch consumers do with the queued job, and what its `harvester run-test`
# does without needing its test dependencies), then harvest_jobs_run marks the job finished. Prints
# {"job": harvest_job_show, "report": harvest_job_report} as JSON.
cmd_harvest() {
    is_national || die "harvest: only the national role harvests (TAMBON_CKAN_ROLE=national)"
    local source="${1:-}"
    [[ -n "$source" ]] || die "usage: ckan.sh harvest SOURCE_NAME_OR_ID"
    [[ -f "$INI" ]] || die "no $INI: run ckan.sh start"
    exec 7>"$RUN/.harvest.lock"
    flock -w 600 7 || die "another harvest has been running on $RUN for 10 minutes"
    if ! CKAN_INI="$INI" HOME="$RUN" local_only "$VENV/bin/python" - "$source" 2>>"$LOGS/harvest.log" <<'PY'
import json
import os
import sys

from ckan.cli import CKANConfigLoader
from ckan.config.middleware import make_app

app = make_app(CKANConfigLoader(os.path.abspath(os.environ["CKAN_INI"])).get_config())
with app._wsgi_app.test_request_context():
    import ckan.model as model
    from ckan.plugins import toolkit

    from ckanext.harvest import queue
    from ckanext.harvest.model import HarvestJob, HarvestObject

    def context():
        user = toolkit.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
        return {"model": model, "session": model.Session, "user": user, "ignore_auth": True}

    source = toolkit.get_action("harvest_source_show")(context(), {"id": sys.argv[1]})
    created = toolkit.get_action("harvest_job_create")(context(), {"source_id": source["id"], "run": False})
    job = HarvestJob.get(created["id"])
    job.status = "Running"  # as harvest_send_job_to_gather_queue sets it
    job.save()
    harvester = queue.get_harvester(source["source_type"])
    object_ids = queue.gather_stage(harvester, job)  # sets gather_started/finished
    for object_id in object_ids if isinstance(object_ids, list) else []:
        queue.fetch_and_import_stages(harvester, HarvestObject.get(object_id))
    toolkit.get_action("harvest_jobs_run")(context(), {"source_id": source["id"]})
    shown = toolkit.get_action("harvest_job_show")(context(), {"id": job.id})
    report = toolkit.get_action("harvest_job_report")(context(), {"id": job.id})
    print(json.dumps({"job": shown, "report": report}, default=str, ensure_ascii=False))
PY
    then
        tail -n 30 "$LOGS/harvest.log" >&2
        die "harvest of $source failed, see $LOGS/harvest.log"
    fi
}

cmd_status() {
    local ok=0
    if gunicorn_running; then
        if http_ok "$CKAN_URL/api/3/action/status_show"; then
            echo "ckan: running at $CKAN_URL (pid $(gunicorn_pid))"
        else
            echo "ckan: process $(gunicorn_pid) runs but $CKAN_URL does not answer"
            ok=1
        fi
    else
        echo "ckan: stopped"
        ok=1
    fi
    if redis_running; then echo "redis: running on port $TAMBON_CKAN_REDIS_PORT"; else echo "redis: stopped"; ok=1; fi
    if pg_running 2>/dev/null; then echo "postgres: running on port $TAMBON_CKAN_PG_PORT"; else echo "postgres: stopped"; ok=1; fi
    echo "run dir: $RUN"
    return $((ok * 3))
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop && cmd_start ;;
    status) cmd_status ;;
    harvest) cmd_harvest "${2:-}" ;;
    url) echo "$CKAN_URL" ;;
    env)
        [[ -f "$ENV_FILE" ]] || die "no $ENV_FILE: run ckan.sh start"
        cat "$ENV_FILE"
        ;;
    env-file) echo "$ENV_FILE" ;;
    *)
        sed -n '2,35p' "$0" >&2
        exit 2
        ;;
esac
