#!/bin/sh
# Runs once, on the first start of an empty data volume (docker-entrypoint-initdb.d):
# one database and one owner for Prefect, one of each for MLflow.
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v prefect_db="$PREFECT_DB" -v prefect_user="$PREFECT_DB_USER" \
    -v prefect_password="$PREFECT_DB_PASSWORD" \
    -v mlflow_db="$MLFLOW_DB" -v mlflow_user="$MLFLOW_DB_USER" \
    -v mlflow_password="$MLFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE :"prefect_user" LOGIN PASSWORD :'prefect_password';
CREATE DATABASE :"prefect_db" OWNER :"prefect_user";
CREATE ROLE :"mlflow_user" LOGIN PASSWORD :'mlflow_password';
CREATE DATABASE :"mlflow_db" OWNER :"mlflow_user";
\connect :"prefect_db"
-- Prefect's migrations use trigram indexes.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SQL
