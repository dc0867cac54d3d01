#!/usr/bin/env bash
# A throwaway Redis, the Celery broker of dagster-celery (pipelines/executors.py, docs/scaling.md):
# Debian's redis-server (installed with apt if missing, as catalog/ckan/ckan.sh installs it for
# CKAN), data in DIR, on 127.0.0.1:PORT only, nothing saved to disk.
#
#   redis.sh start DIR [PORT]   starts it (nothing to do if it already runs); writes DIR/env
#                               (TAMBON_CELERY_BROKER=redis://127.0.0.1:PORT/0)
#   redis.sh stop DIR           stops the server of DIR (nothing to do if none runs)
#
# PORT defaults to 63811. In production point TAMBON_CELERY_BROKER at your own Redis instead
# (CKAN's, or a managed one); this script is for trying Celery out and for its test.
set -euo pipefail

log() { printf '[redis.sh] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

install_redis() {
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
    log "apt-get install redis-server"
    local sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    command -v redis-server >/dev/null || die "no redis-server after installing it"
}

# The pid of DIR's server, if it still runs and is a redis-server.
server_pid() {
    local pid
    pid="$(tr -dc '0-9' 2>/dev/null <"$1/redis.pid" || true)"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q redis-server \
        && echo "$pid"
    return 0
}

cmd_start() {
    local dir port
    dir="$(realpath -m "$1")"
    port="${2:-63811}"
    install_redis
    mkdir -p "$dir/data"
    if [[ -z "$(server_pid "$dir")" ]]; then
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && die "port $port is taken by another program"
        log "starting redis on 127.0.0.1:$port"
        redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes --save '' --appendonly no \
            --dir "$dir/data" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
            </dev/null >/dev/null 2>&1 || die "redis did not start, see $dir/redis.log"
    fi
    for _ in $(seq 50); do
        if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
            printf 'TAMBON_CELERY_BROKER=redis://127.0.0.1:%s/0\n' "$port" >"$dir/env"
            log "ready: redis://127.0.0.1:$port/0"
            return 0
        fi
        sleep 0.1
    done
    die "redis does not answer on port $port, see $dir/redis.log"
}

cmd_stop() {
    local dir pid
    dir="$(realpath -m "$1")"
    pid="$(server_pid "$dir")"
    [[ -n "$pid" ]] || return 0
    log "stopping redis ($dir)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

case "${1:-}:${2:-}" in
    start:?*) cmd_start "$2" "${3:-}" ;;
    stop:?*) cmd_stop "$2" ;;
    *)
        sed -n '2,11p' "$0" >&2
        exit 2
        ;;
esac
