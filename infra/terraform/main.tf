# trailalert: CloudTrail events (EventBridge) -> KMS-encrypted Kinesis stream -> batch Lambda -> Slack/SNS.
# The same stack as infra/cloudformation/template.yaml; tests/infra checks both against the settings.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name

  # "bucket/prefix" when RULES_FILE is an s3:// URL, else "".
  rules_file_s3_path = startswith(coalesce(var.rules_file, "-"), "s3://") ? trimprefix(var.rules_file, "s3://") : ""

  create_topic     = var.default_sns_topic_arn == null || var.default_sns_topic_arn == ""
  has_slack        = (var.slack_bot_token_secret != null && var.slack_bot_token_secret != "") || (var.hook_url_secret != null && var.hook_url_secret != "")
  stack_topic_arn  = local.create_topic ? aws_sns_topic.this[0].arn : var.default_sns_topic_arn
  alerts_topic_arn = local.create_topic ? (local.has_slack ? "" : aws_sns_topic.this[0].arn) : var.default_sns_topic_arn
  route_topic_arns = distinct(concat(
    [for route in coalesce(var.sns_configuration, []) : route.sns_topic_arn],
    [for route in coalesce(var.severity_routing, []) : route.sns_topic_arn if route.sns_topic_arn != null],
  ))
  publish_arns = concat([local.stack_topic_arn], local.route_topic_arns)

  # A secret reference is a Secrets Manager ARN, an SSM parameter ARN or an SSM parameter name (with or
  # without leading "/"); the role may read exactly those.
  secret_references   = [for ref in [var.slack_bot_token_secret, var.hook_url_secret, var.configuration_secret, var.triage_signing_key_secret] : ref if ref != null && ref != ""]
  secretsmanager_arns = [for ref in local.secret_references : ref if can(regex("^arn:[^:]+:secretsmanager:", ref))]
  ssm_parameter_arns = [
    for ref in local.secret_references :
    can(regex("^arn:[^:]+:ssm:", ref)) ? ref : "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter/${trimprefix(ref, "/")}"
    if !can(regex("^arn:[^:]+:secretsmanager:", ref))
  ]

  log_group_name = "/aws/lambda/${var.function_name}"

  # Triage from Slack: on when the Slack signing secret is given (processor.settings: triage_enabled).
  triage                    = var.slack_signing_secret_secret != null && var.slack_signing_secret_secret != ""
  generate_triage_key       = local.triage && (var.triage_signing_key_secret == null || var.triage_signing_key_secret == "")
  triage_signing_key_secret = local.generate_triage_key ? aws_secretsmanager_secret.triage_key[0].arn : (var.triage_signing_key_secret != null ? var.triage_signing_key_secret : "")
  interactions_log_group    = "/aws/lambda/${var.function_name}-interactions"
  backfill                  = var.backfill_worker
  backfill_log_group        = "/aws/lambda/${var.function_name}-backfill"
  # The interactions function reads the signing secret, the bot token and the signing key.
  interactions_references = [for ref in [var.slack_signing_secret_secret, var.slack_bot_token_secret, var.triage_signing_key_secret] : ref if ref != null && ref != ""]
  interactions_secretsmanager_arns = concat(
    [for ref in local.interactions_references : ref if can(regex("^arn:[^:]+:secretsmanager:", ref))],
    local.generate_triage_key ? [aws_secretsmanager_secret.triage_key[0].arn] : [],
  )
  interactions_ssm_parameter_arns = [
    for ref in local.interactions_references :
    can(regex("^arn:[^:]+:ssm:", ref)) ? ref : "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter/${trimprefix(ref, "/")}"
    if !can(regex("^arn:[^:]+:secretsmanager:", ref))
  ]

  # Read-only calls are opt-in; failed ones (errorCode set) always pass so access-denied rules work.
  # The pattern the rules need, derived from this module's own rule variables at plan time by the
  # same code `make deploy` uses (see data.external.event_pattern), or every CloudTrail event.
  every_cloudtrail_event = jsonencode({
    source        = [{ prefix = "aws." }]
    "detail-type" = [{ suffix = " via CloudTrail" }]
  })
  event_pattern  = var.include_read_only_events ? local.every_cloudtrail_event : data.external.event_pattern[0].result.pattern
  event_bus_name = var.create_event_bus ? aws_cloudwatch_event_bus.central[0].name : var.event_bus_name

  environment = {
    RULES                           = var.rules
    IGNORE_RULES                    = var.ignore_rules
    RULES_SEPARATOR                 = var.rules_separator
    USE_DEFAULT_RULES               = tostring(var.use_default_rules)
    EVENTS_TO_TRACK                 = var.events_to_track
    FUNCTION_NAME                   = var.function_name
    RULE_EVALUATION_ERRORS_TO_SLACK = tostring(var.rule_evaluation_errors_to_slack)
    LOG_LEVEL                       = var.log_level
    SLACK_BOT_TOKEN_SECRET          = var.slack_bot_token_secret != null ? var.slack_bot_token_secret : ""
    DEFAULT_SLACK_CHANNEL_ID        = var.default_slack_channel_id != null ? var.default_slack_channel_id : ""
    SLACK_APP_CONFIGURATION         = var.slack_app_configuration != null ? jsonencode(var.slack_app_configuration) : ""
    HOOK_URL_SECRET                 = var.hook_url_secret != null ? var.hook_url_secret : ""
    CONFIGURATION_SECRET            = var.configuration_secret != null ? var.configuration_secret : ""
    DEFAULT_SNS_TOPIC_ARN           = local.alerts_topic_arn
    SNS_CONFIGURATION               = var.sns_configuration != null ? jsonencode(var.sns_configuration) : ""
    SLACK_API_URL                   = var.slack_api_url != null ? var.slack_api_url : ""
    DYNAMODB_TABLE_NAME             = aws_dynamodb_table.this.name
    DYNAMODB_TIME_TO_LIVE           = tostring(var.dynamodb_time_to_live)
    S3_REMOVED_OBJECT_NOTIFICATION  = tostring(var.s3_removed_object_notification)
    RULES_FILE                      = var.rules_file != null ? var.rules_file : ""
    USE_DETECTION_PACK              = tostring(var.use_detection_pack)
    SEVERITY_ROUTING                = var.severity_routing != null ? jsonencode(var.severity_routing) : ""

    # Triage from Slack (docs/slack.md)
    SLACK_SIGNING_SECRET_SECRET      = var.slack_signing_secret_secret != null ? var.slack_signing_secret_secret : ""
    TRIAGE_SIGNING_KEY_SECRET        = local.triage_signing_key_secret
    TRIAGE_ALLOWED_USERS             = join(",", var.triage_allowed_users)
    ACCOUNT_NAMES                    = length(var.account_names) > 0 ? jsonencode(var.account_names) : ""
    ACCOUNT_NAMES_FROM_ORGANIZATIONS = tostring(var.account_names_from_organizations)
  }

  interactions_environment = {
    LOG_LEVEL                   = var.log_level
    SLACK_API_URL               = var.slack_api_url != null ? var.slack_api_url : ""
    SLACK_BOT_TOKEN_SECRET      = var.slack_bot_token_secret != null ? var.slack_bot_token_secret : ""
    SLACK_SIGNING_SECRET_SECRET = var.slack_signing_secret_secret != null ? var.slack_signing_secret_secret : ""
    TRIAGE_SIGNING_KEY_SECRET   = local.triage_signing_key_secret
    TRIAGE_ALLOWED_USERS        = join(",", var.triage_allowed_users)
    DYNAMODB_TABLE_NAME         = aws_dynamodb_table.this.name
  }
}

# --- Encryption key: stream, table, queue, topic, log group and function environment ---
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A key policy's Resource "*" means "this key"; the account root statement is the standard delegation to IAM.
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" means "this key"; writes are limited to the account and the two services below.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" means "this key", it cannot name other resources.
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }
  statement {
    sid       = "LogsEncryptsOnlyThisLogGroup"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${local.log_group_name}"]
    }
  }
  statement {
    sid       = "LogsEncryptsOnlyTheInteractionsLogGroup"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${local.interactions_log_group}"]
    }
  }
  statement {
    sid       = "LogsEncryptsOnlyTheBackfillLogGroup"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${local.backfill_log_group}"]
    }
  }
  statement {
    sid       = "AlarmsPublishToEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_kms_key" "this" {
  description         = "trailalert - encrypts the stream, table, queue, topic, log group and function environment"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json
  tags                = var.tags
}

# --- Stream ---
resource "aws_kinesis_stream" "this" {
  name             = var.function_name
  shard_count      = var.stream_mode == "PROVISIONED" ? var.stream_shard_count : null
  retention_period = 24
  encryption_type  = "KMS"
  kms_key_id       = aws_kms_key.this.arn
  stream_mode_details {
    stream_mode = var.stream_mode
  }
  tags = var.tags
}

# --- Threads and idempotency ---
resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV_AWS_28:Items are 15-minute thread and idempotency markers that expire by TTL; there is nothing to restore.
  name         = var.dynamodb_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  attribute {
    name = "pk"
    type = "S"
  }
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }
  tags = var.tags
}

# --- Topic (created when no default_sns_topic_arn is given) ---
resource "aws_sns_topic" "this" {
  count             = local.create_topic ? 1 : 0
  name              = var.function_name
  kms_master_key_id = aws_kms_key.this.arn
  tags              = var.tags
}

# --- Records given up on by the event source mapping ---
resource "aws_sqs_queue" "failures" {
  name                      = "${var.function_name}-failures"
  message_retention_seconds = 1209600
  kms_master_key_id         = aws_kms_key.this.arn
  tags                      = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 30 days, as in the reference module); these are operational logs, CloudTrail keeps the audit trail.
  name              = local.log_group_name
  retention_in_days = var.lambda_logs_retention_in_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = var.tags
}

# --- Function role: only this stack's resources and the named secrets ---
data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# What delivering an alert needs, for the processor and the backfill worker alike: the stack key, the
# threads/idempotency table, the topics, the rules file, the Slack secrets and parameters, the generated
# triage key and account names. Each role's own document adds the rest through source_policy_documents.
data "aws_iam_policy_document" "deliver_alerts" {
  statement {
    sid       = "UseStackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
  statement {
    sid       = "ThreadsAndIdempotency"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.this.arn]
  }
  statement {
    sid       = "ReadSuppressionsAndLedgerInBatches"
    actions   = ["dynamodb:BatchGetItem"]
    resources = [aws_dynamodb_table.this.arn]
  }
  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = local.publish_arns
  }
  # RULES_FILE=s3://bucket/key-or-prefix: read exactly that object or folder, nothing else in S3.
  dynamic "statement" {
    for_each = local.rules_file_s3_path != "" ? [1] : []
    content {
      sid       = "ReadRulesFile"
      actions   = ["s3:GetObject"]
      resources = ["arn:${local.partition}:s3:::${local.rules_file_s3_path}*"]
    }
  }
  dynamic "statement" {
    for_each = local.rules_file_s3_path != "" ? [1] : []
    content {
      sid       = "ListRulesFolder"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${split("/", local.rules_file_s3_path)[0]}"]
    }
  }
  dynamic "statement" {
    for_each = length(local.secretsmanager_arns) > 0 ? [1] : []
    content {
      sid       = "ReadSlackSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = concat(local.secretsmanager_arns, [for arn in local.secretsmanager_arns : "${arn}-??????"])
    }
  }
  dynamic "statement" {
    for_each = length(local.ssm_parameter_arns) > 0 ? [1] : []
    content {
      sid       = "ReadSlackParameters"
      actions   = ["ssm:GetParameter"]
      resources = local.ssm_parameter_arns
    }
  }
  dynamic "statement" {
    for_each = local.generate_triage_key ? [1] : []
    content {
      sid       = "ReadGeneratedTriageSigningKey"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [aws_secretsmanager_secret.triage_key[0].arn]
    }
  }
  dynamic "statement" {
    for_each = var.account_names_from_organizations ? [1] : []
    content {
      sid       = "AccountNamesFromOrganizations"
      actions   = ["organizations:DescribeAccount"]
      resources = ["arn:${local.partition}:organizations::*:account/o-*/*"]
    }
  }
}

data "aws_iam_policy_document" "function" {
  source_policy_documents = [data.aws_iam_policy_document.deliver_alerts.json]
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
  statement {
    sid       = "ReadStream"
    actions   = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]
    resources = [aws_kinesis_stream.this.arn]
  }
  statement {
    sid       = "FailedBatchesToQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
  }
}

resource "aws_iam_role" "function" {
  name_prefix        = "trailalert-function-"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "function" {
  name   = "trailalert-function"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Stream invocations are synchronous; failed records go to the event source mapping's on-failure queue, a function DLQ would never be used.
  #checkov:skip=CKV_AWS_117:The function only calls Slack's public API and AWS APIs; a VPC would add a NAT gateway and no protection.
  #checkov:skip=CKV_AWS_115:Concurrency is already bounded by the stream's shards x parallelization_factor.
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile users of an open-source module do not have; the zip is built reproducibly by make package.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is not needed to follow a batch; the function logs each record's outcome.
  function_name    = var.function_name
  description      = "trailalert - CloudTrail events from Kinesis to Slack and SNS"
  filename         = var.lambda_package_path
  source_code_hash = filebase64sha256(var.lambda_package_path)
  handler          = "processor.handler.handler"
  runtime          = var.lambda_runtime
  architectures    = [var.lambda_architecture]
  memory_size      = var.lambda_memory_size
  timeout          = var.lambda_timeout_seconds
  role             = aws_iam_role.function.arn
  kms_key_arn      = aws_kms_key.this.arn
  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }
  environment {
    variables = local.environment
  }
  tags       = var.tags
  depends_on = [aws_iam_role_policy.function]
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = aws_kinesis_stream.this.arn
  function_name                      = aws_lambda_function.this.arn
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  parallelization_factor             = var.parallelization_factor
  maximum_retry_attempts             = var.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.maximum_record_age_in_seconds
  bisect_batch_on_function_error     = true
  function_response_types            = ["ReportBatchItemFailures"]
  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.failures.arn
    }
  }
}

# --- EventBridge -> stream ---
data "aws_iam_policy_document" "assume_events" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

data "aws_iam_policy_document" "events_to_stream" {
  statement {
    sid       = "PutToStream"
    actions   = ["kinesis:PutRecord", "kinesis:PutRecords"]
    resources = [aws_kinesis_stream.this.arn]
  }
  statement {
    sid       = "EncryptForStream"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role" "events_to_stream" {
  name_prefix        = "trailalert-events-"
  assume_role_policy = data.aws_iam_policy_document.assume_events.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "events_to_stream" {
  name   = "trailalert-events-to-stream"
  role   = aws_iam_role.events_to_stream.id
  policy = data.aws_iam_policy_document.events_to_stream.json
}

# `trailalert rules pattern --terraform-external` reads the rule settings as the query and answers
# {"pattern": "<json>"}; a bad rule fails the plan, naming the setting. It runs where Terraform runs
# (where `make package` ran), so the pattern always follows the rules the Lambda gets.
data "external" "event_pattern" {
  count   = var.include_read_only_events ? 0 : 1
  program = concat(var.trailalert_command, ["rules", "pattern", "--terraform-external"])
  query = {
    RULES              = var.rules
    IGNORE_RULES       = var.ignore_rules
    RULES_SEPARATOR    = var.rules_separator
    USE_DEFAULT_RULES  = tostring(var.use_default_rules)
    EVENTS_TO_TRACK    = var.events_to_track
    FUNCTION_NAME      = var.function_name
    RULES_FILE         = var.rules_file != null ? var.rules_file : ""
    USE_DETECTION_PACK = tostring(var.use_detection_pack)
  }
}

resource "aws_cloudwatch_event_bus" "central" {
  count = var.create_event_bus ? 1 : 0
  name  = var.event_bus_name
  tags  = var.tags
}

# Member accounts (infra/terraform/member, or the member StackSet) put events on the central bus;
# only accounts of the organization may.
data "aws_iam_policy_document" "organization_puts_events" {
  count = var.organization_id != null ? 1 : 0
  statement {
    sid       = "trailalert-organization-puts-events"
    actions   = ["events:PutEvents"]
    resources = ["arn:${local.partition}:events:${local.region}:${local.account}:event-bus/${local.event_bus_name}"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalOrgID"
      values   = [var.organization_id]
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "organization" {
  count          = var.organization_id != null ? 1 : 0
  event_bus_name = local.event_bus_name
  policy         = data.aws_iam_policy_document.organization_puts_events[0].json
}

resource "aws_cloudwatch_event_rule" "cloudtrail" {
  name           = var.function_name
  description    = "trailalert - the CloudTrail events the rules need, to the Kinesis stream"
  event_bus_name = local.event_bus_name
  event_pattern  = local.event_pattern
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "stream" {
  rule           = aws_cloudwatch_event_rule.cloudtrail.name
  event_bus_name = local.event_bus_name
  target_id      = "trailalert-stream"
  arn            = aws_kinesis_stream.this.arn
  role_arn       = aws_iam_role.events_to_stream.arn
  kinesis_target {
    partition_key_path = "$.id"
  }
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}

# --- Alarms, to the stack's topic ---
resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  alarm_name          = "${var.function_name}-iterator-age"
  alarm_description   = "trailalert is behind the stream - alerts are late."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.iterator_age_alarm_threshold_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.stack_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.function_name}-errors"
  alarm_description   = "trailalert invocations fail - batches are being retried and may go to the failure queue."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.stack_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "failure_queue" {
  alarm_name          = "${var.function_name}-failure-queue"
  alarm_description   = "CloudTrail records were given up on and sit in the failure queue - some events were not alerted on."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.failures.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.stack_topic_arn]
  tags                = var.tags
}

# --- Triage from Slack (docs/slack.md): on when slack_signing_secret_secret is set ---
# The key that signs the buttons' values, unless triage_signing_key_secret names one: generated here
# (its value is in the Terraform state, like every generated secret), read by both functions.
resource "aws_secretsmanager_secret" "triage_key" {
  #checkov:skip=CKV2_AWS_57:Rotating it would invalidate the buttons of every alert already posted; replace it by hand (triage_signing_key_secret) if it leaks.
  count       = local.generate_triage_key ? 1 : 0
  name_prefix = "${var.function_name}-triage-signing-key-"
  description = "trailalert - signs the values of the Slack buttons on alerts (processor/action_values.py)"
  kms_key_id  = aws_kms_key.this.arn
  tags        = var.tags
}

data "aws_secretsmanager_random_password" "triage_key" {
  count               = local.generate_triage_key ? 1 : 0
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret_version" "triage_key" {
  count         = local.generate_triage_key ? 1 : 0
  secret_id     = aws_secretsmanager_secret.triage_key[0].id
  secret_string = data.aws_secretsmanager_random_password.triage_key[0].random_password
  lifecycle {
    ignore_changes = [secret_string] # a new random value every plan; the first one is kept
  }
}

resource "aws_cloudwatch_log_group" "interactions" {
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 30 days), as for the processor's logs.
  count             = local.triage ? 1 : 0
  name              = local.interactions_log_group
  retention_in_days = var.lambda_logs_retention_in_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = var.tags
}

# Only what the interactions function does: its logs; snoozes, mutes and notes in the table (no other
# item: dynamodb:LeadingKeys); the three secrets it reads.
data "aws_iam_policy_document" "interactions" {
  count = local.triage ? 1 : 0
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.interactions[0].arn}:*"]
  }
  statement {
    sid       = "UseStackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
  statement {
    sid       = "SnoozesMutesAndNotes"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.this.arn]
    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["mute#*", "thread#*"]
    }
  }
  dynamic "statement" {
    for_each = length(local.interactions_secretsmanager_arns) > 0 ? [1] : []
    content {
      sid       = "ReadTriageSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = concat(local.interactions_secretsmanager_arns, [for arn in local.interactions_secretsmanager_arns : "${arn}-??????"])
    }
  }
  dynamic "statement" {
    for_each = length(local.interactions_ssm_parameter_arns) > 0 ? [1] : []
    content {
      sid       = "ReadTriageParameters"
      actions   = ["ssm:GetParameter"]
      resources = local.interactions_ssm_parameter_arns
    }
  }
}

resource "aws_iam_role" "interactions" {
  count              = local.triage ? 1 : 0
  name_prefix        = "trailalert-interactions-"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "interactions" {
  count  = local.triage ? 1 : 0
  name   = "trailalert-interactions"
  role   = aws_iam_role.interactions[0].id
  policy = data.aws_iam_policy_document.interactions[0].json
}

# Slack's Interactivity Request URL: the interactions_url output. Slack cannot sign with AWS
# credentials, so the URL is public (authorization NONE) and the function checks Slack's signature.
resource "aws_lambda_function" "interactions" {
  #checkov:skip=CKV_AWS_116:Function URL invocations are synchronous; Slack shows the responder a failure, there is nothing to put in a dead-letter queue.
  #checkov:skip=CKV_AWS_117:The function only calls Slack's public API and AWS APIs; a VPC would add a NAT gateway and no protection.
  #checkov:skip=CKV_AWS_115:A request without Slack's signature is refused in milliseconds; reserving concurrency would take from the account pool.
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile users of an open-source module do not have; the zip is built reproducibly by make package.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is not needed to follow a click; the function logs each action.
  count            = local.triage ? 1 : 0
  function_name    = "${var.function_name}-interactions"
  description      = "trailalert - the Slack buttons on alerts (acknowledge, snooze, mute)"
  filename         = var.lambda_package_path
  source_code_hash = filebase64sha256(var.lambda_package_path)
  handler          = "processor.interactions.handler"
  runtime          = var.lambda_runtime
  architectures    = [var.lambda_architecture]
  memory_size      = var.lambda_memory_size
  timeout          = 10
  role             = aws_iam_role.interactions[0].arn
  kms_key_arn      = aws_kms_key.this.arn
  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.interactions[0].name
  }
  environment {
    variables = local.interactions_environment
  }
  tags       = var.tags
  depends_on = [aws_iam_role_policy.interactions]
}

resource "aws_lambda_function_url" "interactions" {
  #checkov:skip=CKV_AWS_258:Slack cannot sign requests with AWS credentials; every request must carry Slack's v0 signature (processor/slack_requests.py) or is answered 401.
  count              = local.triage ? 1 : 0
  function_name      = aws_lambda_function.interactions[0].function_name
  authorization_type = "NONE"
}

# Since October 2025 a public function URL needs both permissions (invoked_via_function_url needs a
# recent AWS provider, see versions.tf).
resource "aws_lambda_permission" "interactions_url" {
  #checkov:skip=CKV_AWS_301:Slack's Interactivity URL must be public (Slack cannot sign with AWS credentials); only function-URL requests, each checked for Slack's signature.
  count                  = local.triage ? 1 : 0
  statement_id           = "TrailalertSlackInvokeFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.interactions[0].function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "aws_lambda_permission" "interactions_invoke" {
  #checkov:skip=CKV_AWS_301:Only through the function URL (invoked_via_function_url), where every request is checked for Slack's signature.
  count                    = local.triage ? 1 : 0
  statement_id             = "TrailalertSlackInvokeFunction"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.interactions[0].function_name
  principal                = "*"
  invoked_via_function_url = true
}

# --- Backfill on Lambda (docs/backfill.md, docs/scale.md): on when backfill_worker is true ---
# `trailalert backfill s3://... --on-lambda` lists the objects and sends them here, ten per message.
# A message whose objects fail is received again after the visibility timeout (six times the
# worker's), three times in all, then goes to the dead-letter queue; the worker records the object
# as given up on its last receive, so `trailalert backfill status` names it.
resource "aws_sqs_queue" "backfill_dead_letters" {
  count                     = local.backfill ? 1 : 0
  name                      = "${var.function_name}-backfill-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = aws_kms_key.this.arn
  tags                      = var.tags
}

resource "aws_sqs_queue" "backfill" {
  count                      = local.backfill ? 1 : 0
  name                       = "${var.function_name}-backfill"
  message_retention_seconds  = 1209600
  visibility_timeout_seconds = 3600
  kms_master_key_id          = aws_kms_key.this.arn
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.backfill_dead_letters[0].arn
    maxReceiveCount     = 3
  })
  tags = var.tags
  lifecycle {
    precondition {
      condition     = var.backfill_bucket != ""
      error_message = "backfill_worker needs backfill_bucket: the CloudTrail bucket the worker may read."
    }
  }
}

# One manifest per run and one item per object (backfill/runs.py); items expire after 30 days.
resource "aws_dynamodb_table" "backfill_runs" {
  #checkov:skip=CKV_AWS_28:Run results expire by TTL after 30 days and a run can be made again from the logs; there is nothing to restore.
  count        = local.backfill ? 1 : 0
  name         = "${var.function_name}-backfill-runs"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "run"
  range_key    = "object"
  attribute {
    name = "run"
    type = "S"
  }
  attribute {
    name = "object"
    type = "S"
  }
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }
  tags = var.tags
}

resource "aws_cloudwatch_log_group" "backfill" {
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 30 days), as for the processor's logs.
  count             = local.backfill ? 1 : 0
  name              = local.backfill_log_group
  retention_in_days = var.lambda_logs_retention_in_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = var.tags
}

# What the Kinesis function may do for delivery (deliver_alerts: secrets, topics, the ledger table), plus
# its own logs, the queue, the runs table and the log files; not the stream, not the failure queue.
data "aws_iam_policy_document" "backfill_worker" {
  count                   = local.backfill ? 1 : 0
  source_policy_documents = [data.aws_iam_policy_document.deliver_alerts.json]
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.backfill[0].arn}:*"]
  }
  statement {
    sid       = "ReadBackfillQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.backfill[0].arn]
  }
  statement {
    sid       = "RecordRunResults"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.backfill_runs[0].arn]
  }
  statement {
    sid       = "ReadLogFiles"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${var.backfill_bucket}/*"]
  }
  dynamic "statement" {
    for_each = var.backfill_bucket_key_arn != null ? [1] : []
    content {
      sid       = "DecryptLogFiles"
      actions   = ["kms:Decrypt"]
      resources = [var.backfill_bucket_key_arn]
    }
  }
}

resource "aws_iam_role" "backfill_worker" {
  count              = local.backfill ? 1 : 0
  name_prefix        = "trailalert-backfill-"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "backfill_worker" {
  count  = local.backfill ? 1 : 0
  name   = "trailalert-backfill-worker"
  role   = aws_iam_role.backfill_worker[0].id
  policy = data.aws_iam_policy_document.backfill_worker[0].json
}

resource "aws_lambda_function" "backfill_worker" {
  #checkov:skip=CKV_AWS_116:Its invocations come from the SQS event source mapping (synchronous); a message failed past maxReceiveCount goes to the queue's own dead-letter queue.
  #checkov:skip=CKV_AWS_117:The function only calls S3, DynamoDB, Slack's public API and AWS APIs; a VPC would add a NAT gateway and no protection.
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile users of an open-source module do not have; the zip is built reproducibly by make package.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is not needed to follow a message; the worker records each object's result in the runs table.
  count                          = local.backfill ? 1 : 0
  function_name                  = "${var.function_name}-backfill"
  description                    = "trailalert - backfill worker, CloudTrail log files from the backfill queue through the rules"
  filename                       = var.lambda_package_path
  source_code_hash               = filebase64sha256(var.lambda_package_path)
  handler                        = "backfill.worker.handler"
  runtime                        = var.lambda_runtime
  architectures                  = [var.lambda_architecture]
  memory_size                    = var.backfill_worker_memory_size
  timeout                        = 600
  reserved_concurrent_executions = var.backfill_worker_concurrency
  role                           = aws_iam_role.backfill_worker[0].arn
  kms_key_arn                    = aws_kms_key.this.arn
  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.backfill[0].name
  }
  environment {
    variables = merge(local.environment, {
      BACKFILL_TABLE_NAME        = aws_dynamodb_table.backfill_runs[0].name
      BACKFILL_MAX_RECEIVE_COUNT = "3"
    })
  }
  tags       = var.tags
  depends_on = [aws_iam_role_policy.backfill_worker]
}

# maximum_concurrency keeps the pollers within the reserved concurrency: a throttled batch would go
# back to the queue and count as a receive, dead-lettering healthy objects.
resource "aws_lambda_event_source_mapping" "backfill" {
  count                              = local.backfill ? 1 : 0
  event_source_arn                   = aws_sqs_queue.backfill[0].arn
  function_name                      = aws_lambda_function.backfill_worker[0].arn
  batch_size                         = 10
  maximum_batching_window_in_seconds = 1
  function_response_types            = ["ReportBatchItemFailures"]
  scaling_config {
    maximum_concurrency = var.backfill_worker_concurrency
  }
}
