-- customer360 Snowflake setup, step 03: storage integration over the landing bucket (no AWS keys in Snowflake:
-- Snowflake assumes an IAM role you create). Run as ACCOUNTADMIN.
-- Template variables:
--   <% landing_url %>         s3://<bucket>/<prefix>/  (= C360_LANDING_URL with a trailing slash)
--   <% aws_role_arn %>        arn:aws:iam::<account>:role/<role> with s3:GetObject/GetObjectVersion/ListBucket
-- After running: `DESC INTEGRATION C360_LANDING_S3;` and put STORAGE_AWS_IAM_USER_ARN and
-- STORAGE_AWS_EXTERNAL_ID into the IAM role's trust policy.
USE ROLE ACCOUNTADMIN;

CREATE STORAGE INTEGRATION IF NOT EXISTS C360_LANDING_S3
  TYPE = EXTERNAL_STAGE
  STORAGE_PROVIDER = 'S3'
  ENABLED = TRUE
  STORAGE_AWS_ROLE_ARN = '<% aws_role_arn %>'
  STORAGE_ALLOWED_LOCATIONS = ('<% landing_url %>')
  COMMENT = 'customer360: read-only access to the landing bucket';

-- SYSADMIN creates the stage (step 04) on top of it.
GRANT USAGE ON INTEGRATION C360_LANDING_S3 TO ROLE SYSADMIN;
