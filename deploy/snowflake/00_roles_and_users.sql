-- customer360 Snowflake setup, step 00: functional roles and service users (least privilege).
-- Run as USERADMIN/SECURITYADMIN (ACCOUNTADMIN works). Order: 00 → 07, see deploy/snowflake/README.md.
-- Template variables (Snowflake CLI: `snow sql -f <file> -D name=value`):
--   <% dagster_rsa_public_key %>  public key (PEM body, no header lines) of the Dagster/dbt service user
--
-- C360_LOADER       writes RAW (COPY from the landing stage, Snowpipe); nothing else.
-- C360_TRANSFORMER  reads RAW, owns STAGING/INTERMEDIATE/MARTS/ML/SNAPSHOTS (dbt + ML scoring).
-- C360_REPORTER     reads MARTS and ML only; PII columns are masked for it (07_masking_policies.sql).
-- C360_PIPELINE     what the Dagster code location runs as: LOADER + TRANSFORMER, nothing more.
USE ROLE USERADMIN;

CREATE ROLE IF NOT EXISTS C360_LOADER COMMENT = 'customer360: loads landing files into RAW';
CREATE ROLE IF NOT EXISTS C360_TRANSFORMER COMMENT = 'customer360: dbt models and ML scores';
CREATE ROLE IF NOT EXISTS C360_REPORTER COMMENT = 'customer360: read-only marts, PII masked';
CREATE ROLE IF NOT EXISTS C360_PIPELINE COMMENT = 'customer360: the Dagster code location (loader + transformer)';

GRANT ROLE C360_LOADER TO ROLE C360_PIPELINE;
GRANT ROLE C360_TRANSFORMER TO ROLE C360_PIPELINE;
-- SYSADMIN keeps ownership visibility of everything the roles create.
GRANT ROLE C360_PIPELINE TO ROLE SYSADMIN;
GRANT ROLE C360_REPORTER TO ROLE SYSADMIN;

-- Service user of the code location (sensors, raw loads, dbt, ML). Key-pair auth: no password at all.
CREATE USER IF NOT EXISTS C360_DAGSTER
  TYPE = SERVICE
  DEFAULT_ROLE = C360_PIPELINE
  DEFAULT_WAREHOUSE = C360_TRANSFORM_WH
  DEFAULT_NAMESPACE = CUSTOMER360.RAW
  RSA_PUBLIC_KEY = '<% dagster_rsa_public_key %>'
  COMMENT = 'customer360 Dagster code location';
GRANT ROLE C360_PIPELINE TO USER C360_DAGSTER;
