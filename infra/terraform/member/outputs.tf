output "forward_rule_arn" {
  description = "The rule forwarding this account's CloudTrail events to the central bus."
  value       = aws_cloudwatch_event_rule.forward.arn
}
