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
