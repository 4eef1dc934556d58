#!/usr/bin/env bash
# Runs the customer360 Snowflake setup in order with the Snowflake CLI (`snow`), substituting the template
# variables. Needs a connection with ACCOUNTADMIN (or USERADMIN + SYSADMIN + ACCOUNTADMIN for step 03).
#   LANDING_URL=s3://my-bucket/landing/ AWS_ROLE_ARN=arn:aws:iam::123:role/c360-snowflake \
#   DAGSTER_RSA_PUBLIC_KEY="$(grep -v '^-----' rsa_key.pub | tr -d '\n')" \
#   bash deploy/snowflake/setup.sh [--with-snowpipe] [-c <snow connection name>]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
with_snowpipe=0
conn=()
while [ $# -gt 0 ]; do
  case "$1" in
    --with-snowpipe) with_snowpipe=1 ;;
    -c|--connection) conn=(-c "$2"); shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
: "${LANDING_URL:?set LANDING_URL=s3://bucket/prefix/ (C360_LANDING_URL with a trailing slash)}"
: "${AWS_ROLE_ARN:?set AWS_ROLE_ARN to the IAM role Snowflake assumes to read the landing bucket}"
: "${DAGSTER_RSA_PUBLIC_KEY:?set DAGSTER_RSA_PUBLIC_KEY to the service user public key (PEM body)}"
case "$LANDING_URL" in s3://*/) ;; *) echo "LANDING_URL must look like s3://bucket/prefix/" >&2; exit 2 ;; esac
vars=(-D "landing_url=$LANDING_URL" -D "aws_role_arn=$AWS_ROLE_ARN" -D "dagster_rsa_public_key=$DAGSTER_RSA_PUBLIC_KEY")
for f in "$here"/0[0-7]_*.sql; do
  name="$(basename "$f")"
  if [ "$name" = "06_snowpipe.sql" ] && [ "$with_snowpipe" -eq 0 ]; then
    echo "skip $name (pass --with-snowpipe to create the auto-ingest pipes)"; continue
  fi
  echo "== $name"
  snow sql "${conn[@]}" -f "$f" "${vars[@]}"
done
