#!/usr/bin/env bash
# A throwaway PostgreSQL for the production Dagster instance (deploy/dagster.postgres.yaml):
# Debian's packages (installed with apt if missing, as catalog/ckan/ckan.sh does), a cluster
# of its own in DIR, on 127.0.0.1:PORT only, run as the postgres OS user when we are root.
#
#   postgres.sh start DIR [PORT]   initdb (first time), start, create role and database
#                                  "dagster"; writes DIR/env (DAGSTER_PG_* lines, mode 600)
#   postgres.sh stop DIR           stops the cluster of DIR (nothing to do if none runs)
#   postgres.sh env DIR            prints DIR/env, for `set -a; . DIR/env; set +a`
#
# PORT defaults to 24388. For a real deployment point DAGSTER_PG_* at your managed
# PostgreSQL instead; this script is for trying the variant out and for its test.
set -euo pipefail

log() { printf '[postgres.sh] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# pg_bindir, as_pg, port_open
# shellcheck source=pg-helpers.sh
source "$(dirname "${BASH_SOURCE[0]}")/pg-helpers.sh"

install_postgres() {
    pg_bindir >/dev/null && return 0
    log "apt-get install postgresql"
    local sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    pg_bindir >/dev/null || die "no initdb after installing postgresql"
}

cmd_start() {
    local dir port bindir password
    dir="$(realpath -m "$1")"
    port="${2:-24388}"
    install_postgres
    bindir="$(pg_bindir)"
    mkdir -p "$dir/pgdata" "$dir/sock"
    chmod 711 "$dir" # postgres must reach pgdata and its socket; nobody lists
    chown postgres: "$dir/pgdata" "$dir/sock" 2>/dev/null || true
    chmod 700 "$dir/pgdata" "$dir/sock"
    (( ${#dir} < 90 )) || die "path too long for a PostgreSQL socket: $dir"
    [[ -f "$dir/pgdata/PG_VERSION" ]] || log "initdb $dir/pgdata"
    pg_initdb "$bindir" "$dir/pgdata" "$dir/initdb.log"
    as_pg tee "$dir/pgdata/tambon.conf" >/dev/null <<EOF
# written by deploy/postgres.sh on every start, so a changed port applies
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
max_connections = 100
shared_buffers = '64MB'
EOF
    if ! as_pg "$bindir/pg_ctl" status -D "$dir/pgdata" >/dev/null 2>&1; then
        port_open "$port" && die "port $port is taken by another program"
        touch "$dir/postgres.log"
        chown postgres: "$dir/postgres.log" 2>/dev/null || true
        log "starting postgres on 127.0.0.1:$port"
        as_pg "$bindir/pg_ctl" start -D "$dir/pgdata" -l "$dir/postgres.log" -w -t 60 </dev/null >/dev/null \
            || die "postgres did not start, see $dir/postgres.log"
    fi
    password="$(sed -n 's/^DAGSTER_PG_PASSWORD=//p' "$dir/env" 2>/dev/null || true)"
    [[ -n "$password" ]] || password="$(head -c 32 /dev/urandom | sha256sum | cut -c1-32)"
    as_pg "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/sock" -p "$port" -U postgres -d postgres >/dev/null <<EOF
SELECT 'CREATE ROLE dagster LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dagster') \gexec
ALTER ROLE dagster PASSWORD '$password';
SELECT 'CREATE DATABASE dagster OWNER dagster ENCODING ''UTF8'''
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'dagster') \gexec
EOF
    (
        umask 077
        printf 'DAGSTER_PG_HOST=127.0.0.1\nDAGSTER_PG_PORT=%s\nDAGSTER_PG_USER=dagster\nDAGSTER_PG_PASSWORD=%s\nDAGSTER_PG_DB=dagster\n' \
            "$port" "$password" >"$dir/env"
    )
    log "ready: postgresql://dagster@127.0.0.1:$port/dagster (settings in $dir/env)"
}

cmd_stop() {
    local dir bindir
    dir="$(realpath -m "$1")"
    [[ -f "$dir/pgdata/PG_VERSION" ]] || return 0
    bindir="$(pg_bindir)" || return 0
    as_pg "$bindir/pg_ctl" status -D "$dir/pgdata" >/dev/null 2>&1 || return 0
    log "stopping postgres ($dir)"
    as_pg "$bindir/pg_ctl" stop -D "$dir/pgdata" -m fast -w -t 60 >/dev/null \
        || as_pg "$bindir/pg_ctl" stop -D "$dir/pgdata" -m immediate -w -t 30 >/dev/null
}

case "${1:-}:${2:-}" in
    start:?*) cmd_start "$2" "${3:-}" ;;
    stop:?*) cmd_stop "$2" ;;
    env:?*) cat "$(realpath -m "$2")/env" ;;
    *)
        sed -n '2,12p' "$0" >&2
        exit 2
        ;;
esac
