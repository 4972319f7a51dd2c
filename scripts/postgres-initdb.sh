#!/usr/bin/env sh
# compose.yaml's PostgreSQL runs this once, on an empty data directory: it creates the serving
# role (docs/security.md "Database roles"). The tables, made by `migrate` as the owner, come
# later; migrate then grants this role what it uses.
set -eu
password=$(cat /run/secrets/app_db_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v password="$password" <<'SQL'
CREATE ROLE payments_app LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
