# Names follow fivexl/terraform-aws-cloudtrail-to-slack where the meaning is the same, so its users can
# switch by changing the module source. See docs/deploy.md for the migration table.

# --- Rules (same as the reference module) ---
variable "rules" {
  description = "Rules separated by rules_separator, evaluated on every event."
  type        = string
  default     = ""
}

variable "ignore_rules" {
  description = "Rules that drop an event before any other rule runs."
  type        = string
  default     = ""
}

variable "rules_separator" {
  description = "Separator for rules and ignore_rules."
  type        = string
  default     = ","
}

variable "use_default_rules" {
  description = "Also apply the built-in rules."
  type        = bool
  default     = true
}

variable "events_to_track" {
  description = "Comma-separated eventNames that always alert."
  type        = string
  default     = ""
}

variable "rule_evaluation_errors_to_slack" {
  description = "Report rules that raise."
  type        = bool
  default     = true
}

variable "rules_file" {
  description = "RULES_FILE: s3://bucket/key-or-prefix/ (the function may read exactly that). A path is read from the function's own package, which holds only the processor, and by `trailalert rules pattern` where Terraform runs."
  type        = string
  default     = null
}

variable "use_detection_pack" {
  description = "Also apply the bundled detection pack (on for new deployments; the processor itself defaults to false)."
  type        = bool
  default     = true
}

variable "severity_routing" {
  description = "Extra destinations by minimum severity."
  type = list(object({
    min_severity     = string
    slack_channel_id = optional(string)
    sns_topic_arn    = optional(string)
  }))
  default = null
}

variable "s3_removed_object_notification" {
  description = "Alert when a CloudTrail log object is removed (used by the S3-notification handler)."
  type        = bool
  default     = true
}

variable "function_name" {
  description = "Lambda function name."
  type        = string
  default     = "trailalert"
}

variable "log_level" {
  description = "Log level of the function."
  type        = string
  default     = "INFO"
  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

# --- Destinations ---
variable "slack_bot_token_secret" {
  description = "Secrets Manager secret ARN or SSM SecureString parameter name holding the Slack bot token (replaces the reference's slack_bot_token: the token never enters Terraform state or the Lambda environment)."
  type        = string
  default     = null
}

variable "default_slack_channel_id" {
  description = "Slack channel for accounts without a route in slack_app_configuration."
  type        = string
  default     = null
}

variable "slack_app_configuration" {
  description = "Slack channel per account(s), for the Slack app."
  type = list(object({
    accounts         = list(string)
    slack_channel_id = string
  }))
  default = null
}

variable "hook_url_secret" {
  description = "Secrets Manager secret ARN or SSM SecureString parameter name holding the default Slack webhook URL (replaces the reference's default_slack_hook_url)."
  type        = string
  default     = null
}

variable "configuration_secret" {
  description = "Secrets Manager secret ARN or SSM parameter holding the reference's `configuration` (Slack webhook URL per account(s)) as JSON: [{\"accounts\": [...], \"slack_hook_url\": \"...\"}]. Webhook URLs are secrets, so they are only referenced."
  type        = string
  default     = null
}

variable "default_sns_topic_arn" {
  description = "Existing topic for all alerts. Null: the module creates one, which gets the alerts when no Slack secret is set, and the alarms."
  type        = string
  default     = null
}

variable "sns_configuration" {
  description = "SNS topic per account(s)."
  type = list(object({
    accounts      = list(string)
    sns_topic_arn = string
  }))
  default = null
}

variable "slack_api_url" {
  description = "Override of the Slack API base URL (null: https://slack.com/api/)."
  type        = string
  default     = null
}

# --- Table ---
variable "dynamodb_table_name" {
  description = "Name of the thread and idempotency table."
  type        = string
  default     = "trailalert"
}

variable "dynamodb_time_to_live" {
  description = "Seconds to keep thread and idempotency items."
  type        = number
  default     = 900
}

# --- Function ---
variable "lambda_package_path" {
  description = "Path to the zip built by `make package` (build/trailalert-lambda.zip)."
  type        = string
}

variable "lambda_runtime" {
  description = "Python runtime; the zip from `make package` holds wheels for each allowed one."
  type        = string
  default     = "python3.12"
  validation {
    condition     = contains(["python3.12", "python3.13"], var.lambda_runtime)
    error_message = "lambda_runtime must be python3.12 or python3.13 (the runtimes `make package` builds wheels for)."
  }
}

variable "lambda_architecture" {
  description = "x86_64 or arm64; must match `make package LAMBDA_ARCH=...`."
  type        = string
  default     = "x86_64"
  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "lambda_memory_size" {
  description = "Memory of the function in MB."
  type        = number
  default     = 256
}

variable "lambda_timeout_seconds" {
  description = "Timeout of the function."
  type        = number
  default     = 30
}

variable "lambda_logs_retention_in_days" {
  description = "How long to keep the function's logs."
  type        = number
  default     = 30
}

# --- Events and stream ---
variable "event_bus_name" {
  description = "Event bus the rule listens on (a central bus for organization-wide forwarding)."
  type        = string
  default     = "default"
}

variable "include_read_only_events" {
  description = "Override: forward every CloudTrail event (read-only calls included) instead of the pattern the rules need."
  type        = bool
  default     = false
}

variable "trailalert_command" {
  description = "How to run the trailalert CLI where Terraform runs (it derives the forwarding pattern from the rules), e.g. [\"/path/to/.venv/bin/trailalert\"]."
  type        = list(string)
  default     = ["trailalert"]
}

variable "create_event_bus" {
  description = "Create the event bus event_bus_name (a central bus member accounts forward to; docs/organizations.md)."
  type        = bool
  default     = false
}

variable "organization_id" {
  description = "AWS Organizations id (o-...): every account of the organization may put events on the bus (aws:PrincipalOrgID)."
  type        = string
  default     = null
  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must look like o-abc123def4."
  }
}

variable "stream_mode" {
  description = "ON_DEMAND or PROVISIONED."
  type        = string
  default     = "ON_DEMAND"
}

variable "stream_shard_count" {
  description = "Shards when stream_mode is PROVISIONED."
  type        = number
  default     = 1
}

variable "batch_size" {
  description = "Records per invocation."
  type        = number
  default     = 100
}

variable "maximum_batching_window_in_seconds" {
  description = "How long to gather records before invoking."
  type        = number
  default     = 1
}

variable "parallelization_factor" {
  description = "Concurrent batches per shard."
  type        = number
  default     = 1
}

variable "maximum_retry_attempts" {
  description = "Retries of a failing batch before its records go to the failure queue."
  type        = number
  default     = 5
}

variable "maximum_record_age_in_seconds" {
  description = "Records older than this go to the failure queue instead of being retried."
  type        = number
  default     = 3600
}

variable "iterator_age_alarm_threshold_ms" {
  description = "Alarm when the oldest unprocessed record is older than this."
  type        = number
  default     = 300000
}

variable "tags" {
  description = "Tags to attach to resources."
  type        = map(string)
  default     = {}
}

# --- Triage from Slack (docs/slack.md) ---
variable "slack_signing_secret_secret" {
  description = "Secrets Manager secret ARN or SSM SecureString parameter name holding the Slack app's signing secret. Set, it turns triage on: buttons on alerts, and the interactions function whose URL is the interactions_url output."
  type        = string
  default     = null
}

variable "triage_signing_key_secret" {
  description = "Secrets Manager secret ARN or SSM SecureString parameter name holding the key that signs the buttons' values. Null: the module generates one in Secrets Manager (with triage on)."
  type        = string
  default     = null
}

variable "triage_allowed_users" {
  description = "Slack user ids (U...) who may snooze and mute; empty: anyone in the channel."
  type        = list(string)
  default     = []
}

variable "account_names" {
  description = "Names shown beside account ids: {\"111122223333\" = \"prod\"}."
  type        = map(string)
  default     = {}
}

variable "account_names_from_organizations" {
  description = "Also ask AWS Organizations for account names (organizations:DescribeAccount; from the management account or a delegated administrator)."
  type        = bool
  default     = false
}

# --- Backfill on Lambda (docs/backfill.md, docs/scale.md) ---
variable "backfill_worker" {
  description = "Create the backfill queue, its dead-letter queue, the runs table and the worker function for `trailalert backfill s3://... --on-lambda`."
  type        = bool
  default     = false
}

variable "backfill_bucket" {
  description = "The CloudTrail bucket the backfill worker may read (s3:GetObject on its objects); needed with backfill_worker."
  type        = string
  default     = ""
  validation {
    condition     = var.backfill_bucket == "" || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.backfill_bucket))
    error_message = "backfill_bucket must be an S3 bucket name."
  }
}

variable "backfill_bucket_key_arn" {
  description = "The KMS key of the trail's log files when they are SSE-KMS encrypted (the worker gets kms:Decrypt on it); null: none."
  type        = string
  default     = null
}

variable "backfill_worker_concurrency" {
  description = "Backfill workers at most (reserved concurrency and the queue mapping's maximum); docs/scale.md sizes it."
  type        = number
  default     = 10
  validation {
    condition     = var.backfill_worker_concurrency >= 2 && var.backfill_worker_concurrency <= 1000
    error_message = "backfill_worker_concurrency must be from 2 to 1000."
  }
}

variable "backfill_worker_memory_size" {
  description = "Memory of a backfill worker in MB; 1769 is one full vCPU, which is what the work needs."
  type        = number
  default     = 1769
}
