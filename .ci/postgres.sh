# shellcheck shell=bash
# Source me: starts a throw-away PostgreSQL server for the storage tests and exports
#   WASTENET_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:<port>/wastenet_test
# Installs PostgreSQL from Debian's packages when it is missing (needs root), runs the
# server as the 'postgres' user on loopback on a free port with a fresh data directory
# under /tmp. Idempotent: a second source reuses the server this script started.
# Returns non-zero (without exiting the calling shell) when it cannot provide a server.
# Callers running under `set -e` must source it in a `||` list (as .ci/run does): a
# stale state directory left by a killed server (the CI machine is the session's own
# machine) must lead to a fresh server, never to an early exit.

_wastenet_pg() {
    local state=/tmp/wastenet-ci-pg
    local bindir port py
    py=$(command -v python3 || echo /usr/bin/python3)

    if [ -f "$state/port" ] && [ -f "$state/data/postmaster.pid" ]; then
        port=$(cat "$state/port")
        bindir=$(cat "$state/bindir")
        if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
            export WASTENET_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:${port}/wastenet_test"
            echo "postgres.sh: reusing the server on port $port"
            return 0
        fi
    fi

    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        echo "postgres.sh: installing PostgreSQL from Debian's packages"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq postgresql >/dev/null || {
            echo "postgres.sh: apt-get install postgresql failed" >&2; return 1; }
        bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    fi
    if [ -z "$bindir" ]; then
        echo "postgres.sh: no PostgreSQL binaries found" >&2
        return 1
    fi
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres || return 1
    fi

    if [ -f "$state/data/postmaster.pid" ]; then   # a stale server of ours: stop it
        runuser -u postgres -- "$bindir/pg_ctl" -D "$state/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$state"
    mkdir -p "$state"
    chown postgres "$state"
    port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    runuser -u postgres -- "$bindir/initdb" -D "$state/data" -A trust -U postgres -E UTF8 \
        --no-sync >"$state/initdb.log" 2>&1 || {
        echo "postgres.sh: initdb failed, see $state/initdb.log" >&2; return 1; }
    runuser -u postgres -- "$bindir/pg_ctl" -D "$state/data" -l "$state/server.log" -w -t 60 \
        -o "-p $port -k $state -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null || {
        echo "postgres.sh: the server did not start, see $state/server.log" >&2; return 1; }
    runuser -u postgres -- "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres wastenet_test || return 1
    echo "$port" >"$state/port"
    echo "$bindir" >"$state/bindir"
    export WASTENET_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:${port}/wastenet_test"
    echo "postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

_wastenet_pg
