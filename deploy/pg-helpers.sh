# Shell helpers for a project-local PostgreSQL from Debian's packages, sourced by
# deploy/postgres.sh (the Dagster instance) and catalog/ckan/ckan.sh (CKAN's database).

# The newest installed PostgreSQL's bin folder (15 first: Debian bookworm's).
pg_bindir() {
    local d
    for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        [[ -x "$d/initdb" ]] && { echo "$d"; return 0; }
    done
    return 1
}

# Run a command as the postgres OS user (initdb refuses root), from "/" so
# that it never lacks access to the current directory.
as_pg() {
    if [[ "$(id -u)" == 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# Whether something already listens on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A new cluster in DATADIR (owned by postgres, mode 700) unless it holds one already,
# including our settings file (tambon.conf, rewritten by the caller on every start).
# initdb's output goes to LOGFILE; `die` must be defined by the caller.
pg_initdb() {
    local bindir="$1" datadir="$2" logfile="$3"
    [[ -f "$datadir/PG_VERSION" ]] && return 0
    mkdir -p "$datadir"
    chown postgres: "$datadir" 2>/dev/null || true
    chmod 700 "$datadir"
    as_pg "$bindir/initdb" -D "$datadir" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >>"$logfile" 2>&1 \
        || die "initdb failed, see $logfile"
    echo "include_if_exists = 'tambon.conf'" | as_pg tee -a "$datadir/postgresql.conf" >/dev/null
}
