-- customer360 Snowflake setup, step 07: masking policies on PII (email, phone, names) for the reporter role.
-- Run as SYSADMIN (owner of the GOVERNANCE schema); re-runnable.
--
-- Who sees what: the pipeline roles (C360_LOADER / C360_TRANSFORMER, and C360_PIPELINE that holds both) see
-- clear values — dbt needs them to clean, join and dedup. Every other role, C360_REPORTER in the first place,
-- sees masked values: email keeps its domain (r*****@example.com → *****@example.com), phone keeps its last
-- four digits, names become '*****'. Allow-list, not deny-list: a new role is masked until granted.
--
-- Attaching: dbt rebuilds tables with CREATE OR REPLACE, which drops column policies, so the attachment is a
-- procedure run after every build (dbt on-run-end `call customer360.governance.apply_pii_masking()` or the
-- task below) rather than a one-off ALTER. It attaches the policy to every column whose name is a PII name
-- in the schemas the reporter can read (MARTS, ML) and the other modelled schemas.
USE ROLE SYSADMIN;
USE SCHEMA CUSTOMER360.GOVERNANCE;

CREATE MASKING POLICY IF NOT EXISTS PII_EMAIL AS (val STRING) RETURNS STRING ->
  CASE
    WHEN val IS NULL THEN NULL
    WHEN IS_ROLE_IN_SESSION('C360_TRANSFORMER') OR IS_ROLE_IN_SESSION('C360_LOADER') THEN val
    ELSE REGEXP_REPLACE(val, '^[^@]*', '*****')
  END
  COMMENT = 'customer360 PII: email (domain kept)';

CREATE MASKING POLICY IF NOT EXISTS PII_PHONE AS (val STRING) RETURNS STRING ->
  CASE
    WHEN val IS NULL THEN NULL
    WHEN IS_ROLE_IN_SESSION('C360_TRANSFORMER') OR IS_ROLE_IN_SESSION('C360_LOADER') THEN val
    ELSE '***-***-' || RIGHT(REGEXP_REPLACE(val, '[^0-9]', ''), 4)
  END
  COMMENT = 'customer360 PII: phone (last four digits kept)';

CREATE MASKING POLICY IF NOT EXISTS PII_NAME AS (val STRING) RETURNS STRING ->
  CASE
    WHEN val IS NULL THEN NULL
    WHEN IS_ROLE_IN_SESSION('C360_TRANSFORMER') OR IS_ROLE_IN_SESSION('C360_LOADER') THEN val
    ELSE '*****'
  END
  COMMENT = 'customer360 PII: first/last/full name';

-- Attach (idempotent): every PII-named column of the modelled schemas and RAW.
CREATE OR REPLACE PROCEDURE APPLY_PII_MASKING()
  RETURNS STRING
  LANGUAGE SQL
  EXECUTE AS OWNER
AS
$$
DECLARE
  applied INTEGER DEFAULT 0;
  c CURSOR FOR
    SELECT c.table_schema, c.table_name, c.column_name,
           CASE
             WHEN c.column_name = 'EMAIL' THEN 'CUSTOMER360.GOVERNANCE.PII_EMAIL'
             WHEN c.column_name = 'PHONE' THEN 'CUSTOMER360.GOVERNANCE.PII_PHONE'
             ELSE 'CUSTOMER360.GOVERNANCE.PII_NAME'
           END AS policy_name
    FROM CUSTOMER360.INFORMATION_SCHEMA.COLUMNS c
    JOIN CUSTOMER360.INFORMATION_SCHEMA.TABLES t
      ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE c.table_schema IN ('RAW', 'STAGING', 'INTERMEDIATE', 'MARTS', 'ML', 'SNAPSHOTS')
      AND c.column_name IN ('EMAIL', 'PHONE', 'FIRST_NAME', 'LAST_NAME', 'FULL_NAME')
      AND c.data_type = 'TEXT'
      AND t.table_type = 'BASE TABLE'
      AND NOT EXISTS (
        SELECT 1 FROM TABLE(CUSTOMER360.INFORMATION_SCHEMA.POLICY_REFERENCES(
          REF_ENTITY_NAME => 'CUSTOMER360.' || c.table_schema || '.' || c.table_name, REF_ENTITY_DOMAIN => 'table')) p
        WHERE p.ref_column_name = c.column_name);
BEGIN
  FOR r IN c DO
    EXECUTE IMMEDIATE 'ALTER TABLE CUSTOMER360.' || r.table_schema || '.' || r.table_name
      || ' MODIFY COLUMN ' || r.column_name || ' SET MASKING POLICY ' || r.policy_name;
    applied := applied + 1;
  END FOR;
  RETURN applied || ' column(s) masked';
END;
$$;

-- Views (staging) inherit the masking of the table columns they read; tables are covered above.
GRANT USAGE ON SCHEMA CUSTOMER360.GOVERNANCE TO ROLE C360_TRANSFORMER;
GRANT USAGE ON PROCEDURE CUSTOMER360.GOVERNANCE.APPLY_PII_MASKING() TO ROLE C360_TRANSFORMER;

-- Safety net if the dbt on-run-end hook is not installed: re-attach every 15 minutes.
CREATE TASK IF NOT EXISTS CUSTOMER360.GOVERNANCE.APPLY_PII_MASKING_TASK
  WAREHOUSE = C360_TRANSFORM_WH
  SCHEDULE = '15 MINUTE'
  COMMENT = 'customer360: keep PII masking attached after dbt rebuilds'
AS
  CALL CUSTOMER360.GOVERNANCE.APPLY_PII_MASKING();
ALTER TASK CUSTOMER360.GOVERNANCE.APPLY_PII_MASKING_TASK RESUME;
CALL CUSTOMER360.GOVERNANCE.APPLY_PII_MASKING();

-- Verify as the reporter:  USE ROLE C360_REPORTER; SELECT email, phone, first_name FROM CUSTOMER360.MARTS.DIM_CUSTOMERS LIMIT 5;
