/** Formats of the provider-specific credential fields (SPEC §9). */

/** Azure's api-version: a date with an optional suffix (2024-10-21, 2025-04-01-preview) or a word (v1, latest, preview). */
export const API_VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
export const API_VERSION_MESSAGE =
  'api_version must be an Azure OpenAI api-version such as 2024-10-21 or 2025-04-01-preview';

/** An AWS region name: us-east-1, eu-central-2, us-gov-west-1, ap-southeast-5. */
export const AWS_REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
export const AWS_REGION_MESSAGE = 'aws_region must be an AWS region such as us-east-1';

/** AKIA… (long-term) or ASIA… (temporary) ids: upper-case letters and digits. */
export const AWS_ACCESS_KEY_ID_PATTERN = /^[A-Z0-9]{16,128}$/;
export const AWS_ACCESS_KEY_ID_MESSAGE =
  'aws_access_key_id must be an AWS access key id (16-128 upper-case letters and digits)';
