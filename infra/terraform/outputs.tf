output "lambda_function_arn" {
  description = "The ARN of the Lambda function (same name as the reference module's output)."
  value       = aws_lambda_function.this.arn
}

output "lambda_function_name" {
  description = "The name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "stream_name" {
  description = "The Kinesis stream EventBridge writes CloudTrail events to."
  value       = aws_kinesis_stream.this.name
}

output "stream_arn" {
  description = "The ARN of the Kinesis stream."
  value       = aws_kinesis_stream.this.arn
}

output "dynamodb_table_name" {
  description = "The thread and idempotency table."
  value       = aws_dynamodb_table.this.name
}

output "sns_topic_arn" {
  description = "The stack's topic (created, or default_sns_topic_arn); alarms notify it."
  value       = local.stack_topic_arn
}

output "failure_queue_url" {
  description = "Queue holding records the function gave up on."
  value       = aws_sqs_queue.failures.url
}

output "kms_key_arn" {
  description = "The key encrypting the stack's data."
  value       = aws_kms_key.this.arn
}

output "event_bus_arn" {
  description = "The bus the rule listens on; member accounts forward to it (docs/organizations.md)."
  value       = "arn:${local.partition}:events:${local.region}:${local.account}:event-bus/${local.event_bus_name}"
}

output "event_pattern" {
  description = "The pattern the rule forwards; give the same to the member accounts (infra/terraform/member)."
  value       = local.event_pattern
}

output "interactions_url" {
  description = "The Request URL of the Slack app's Interactivity (docs/slack.md); null when triage is off."
  value       = local.triage ? aws_lambda_function_url.interactions[0].function_url : null
}

output "backfill_queue_url" {
  description = "TRAILALERT_BACKFILL_QUEUE_URL of `trailalert backfill --on-lambda` (null unless backfill_worker)."
  value       = local.backfill ? aws_sqs_queue.backfill[0].url : null
}

output "backfill_dead_letter_queue_url" {
  description = "Where a backfill message goes after three failed receives."
  value       = local.backfill ? aws_sqs_queue.backfill_dead_letters[0].url : null
}

output "backfill_table_name" {
  description = "TRAILALERT_BACKFILL_TABLE of `trailalert backfill --on-lambda` and `backfill status`."
  value       = local.backfill ? aws_dynamodb_table.backfill_runs[0].name : null
}
