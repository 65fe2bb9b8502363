#!/usr/bin/env bash
# The services a team shares, on 127.0.0.1: PostgreSQL (Debian's server) for MLflow's runs,
# registry and users, an S3-compatible store (moto's server) for artifacts and the DVC remote,
# and `mlflow server` with MLflow's basic authentication in front of both. The team tests
# (tests/team) and benchmarks/bench_team.py start exactly this; the README's deployment recipe
# is these commands.
#
#   bash scripts/team-stack.sh up DIR     start everything, write DIR/stack.env, print it
#   bash scripts/team-stack.sh down DIR   stop everything started into DIR
#
# Ports come from PG_PORT, S3_PORT and MLFLOW_PORT (free ones when unset); MLFLOW_WORKERS
# (default 1) sets the server's uvicorn workers; MLFLOW_AUTH_CACHE_TTL (default 0, MLflow's
# own: off) the seconds the server remembers a checked password (each check is a scrypt hash);
# MLFLOW_SERVER_ENABLE_JOB_EXECUTION (default false here) MLflow's job runner, seven more
# processes for its GenAI jobs that nothing of ours uses; PYTHON names the venv's interpreter
# (default: .venv/bin/python). The passwords below are for a throwaway stack on loopback: a real
# one takes them from a secret store, and never from [tool.jupyter-mlops].
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
    echo "usage: team-stack.sh up|down DIR" >&2
    exit 2
}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
PYTHON=${PYTHON:-.venv/bin/python}
BIN=$(cd "$(dirname "$PYTHON")" && pwd)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PGPASS=${PGPASS:-mlops-db-secret}
ADMIN_PASSWORD=${ADMIN_PASSWORD:-admin-secret-1234}
SERVER_SECRET=${SERVER_SECRET:-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}
S3_KEY=${S3_KEY:-testing}

fail() {
    echo "team-stack: $*" >&2
    exit 1
}

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_for() { # URL SECONDS LOG PID: until URL answers, while PID lives
    local url=$1 deadline=$((SECONDS + $2))
    until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
        kill -0 "$4" 2>/dev/null || fail "it stopped before $url answered: $(tail -n 1 "$3")"
        [ $SECONDS -lt $deadline ] || fail "$url did not answer in $2 s (see $3)"
        sleep 0.3
    done
}

# PostgreSQL refuses to run as root: as root, its files belong to the `postgres` user and live
# outside DIR (which may sit in a private temp folder that user cannot enter).
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || fail "no 'postgres' user: install Debian's postgresql package"
    as_pg=(runuser -u postgres --)
fi

up() {
    [ -x "$PGBIN/initdb" ] || fail "PostgreSQL is missing: run scripts/install-test-deps.sh"
    [ -x "$BIN/mlflow" ] || fail "$BIN/mlflow is missing: install the project first"
    PG_PORT=${PG_PORT:-$(free_port)}
    S3_PORT=${S3_PORT:-$(free_port)}
    MLFLOW_PORT=${MLFLOW_PORT:-$(free_port)}
    local pghome
    pghome=$(mktemp -d /tmp/mlops-pg.XXXXXX)
    echo "$pghome" >"$dir/pg-home"
    printf '%s\n' "$PGPASS" >"$pghome/pwfile"
    [ ${#as_pg[@]} -eq 0 ] || chown -R postgres: "$pghome"

    # 1. PostgreSQL: one cluster, a database for runs and models and one for users
    "${as_pg[@]}" "$PGBIN/initdb" -D "$pghome/data" -U mlops --pwfile="$pghome/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
        fail "initdb failed (see $dir/initdb.log)"
    "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$pghome/data" -l "$pghome/postgres.log" -w start \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $pghome -c fsync=off" >/dev/null ||
        fail "PostgreSQL did not start (see $pghome/postgres.log)"
    for db in mlflow mlflow_auth; do
        PGPASSWORD=$PGPASS "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U mlops "$db"
    done

    # 2. the S3-compatible store, with a bucket for MLflow's artifacts and one for DVC
    nohup "$BIN/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$dir/s3.log" 2>&1 &
    echo $! >"$dir/s3.pid"
    local s3="http://127.0.0.1:$S3_PORT"
    wait_for "$s3/moto-api/" 60 "$dir/s3.log" "$(cat "$dir/s3.pid")"
    for bucket in mlops-artifacts mlops-data; do
        curl -fsS -o /dev/null -X PUT "$s3/$bucket"
    done

    # 3. mlflow server with basic authentication: users and permissions in PostgreSQL too
    local db="postgresql://mlops:$PGPASS@127.0.0.1:$PG_PORT"
    cat >"$dir/basic_auth.ini" <<EOF
[mlflow]
default_permission = READ
database_uri = $db/mlflow_auth
admin_username = admin
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
auth_cache_ttl_seconds = ${MLFLOW_AUTH_CACHE_TTL:-0}
EOF
    MLFLOW_AUTH_CONFIG_PATH="$dir/basic_auth.ini" MLFLOW_AUTH_ADMIN_PASSWORD=$ADMIN_PASSWORD \
        MLFLOW_FLASK_SERVER_SECRET_KEY=$SERVER_SECRET \
        MLFLOW_S3_ENDPOINT_URL=$s3 AWS_ACCESS_KEY_ID=$S3_KEY AWS_SECRET_ACCESS_KEY=$S3_KEY \
        AWS_DEFAULT_REGION=us-east-1 \
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION=${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false} \
        nohup "$BIN/mlflow" server --app-name basic-auth \
        --backend-store-uri "$db/mlflow" --artifacts-destination s3://mlops-artifacts \
        --host 127.0.0.1 --port "$MLFLOW_PORT" --workers "${MLFLOW_WORKERS:-1}" \
        >"$dir/mlflow.log" 2>&1 &
    echo $! >"$dir/mlflow.pid"
    wait_for "http://127.0.0.1:$MLFLOW_PORT/health" 120 "$dir/mlflow.log" "$(cat "$dir/mlflow.pid")"

    cat >"$dir/stack.env" <<EOF
MLFLOW_TRACKING_URI=http://127.0.0.1:$MLFLOW_PORT
MLOPS_S3_ENDPOINT=$s3
MLOPS_PG_URI=$db
MLOPS_ADMIN_USER=admin
MLOPS_ADMIN_PASSWORD=$ADMIN_PASSWORD
EOF
    cat "$dir/stack.env"
}

down() {
    local pid
    for name in mlflow s3; do
        [ -f "$dir/$name.pid" ] || continue
        pid=$(cat "$dir/$name.pid")
        # mlflow server runs uvicorn as a child: stop the whole group it leads, then it
        pkill -TERM -P "$pid" 2>/dev/null || true
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/$name.pid"
    done
    if [ -f "$dir/pg-home" ]; then
        local pghome
        pghome=$(cat "$dir/pg-home")
        if [ -d "$pghome/data" ]; then
            "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$pghome/data" -m immediate -w stop >/dev/null 2>&1 || true
        fi
        rm -rf "$pghome" "$dir/pg-home"
    fi
}

case "$cmd" in
up) up ;;
down) down ;;
*) fail "unknown command '$cmd' (up or down)" ;;
esac
