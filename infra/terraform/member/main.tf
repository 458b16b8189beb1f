# trailalert member account: forwards the CloudTrail events trailalert's rules need from this account
# and region to the central event bus (the central module's event_bus_arn). One instance per account
# and region; see docs/organizations.md.

data "aws_caller_identity" "current" {}

locals {
  every_cloudtrail_event = jsonencode({
    source        = [{ prefix = "aws." }]
    "detail-type" = [{ suffix = " via CloudTrail" }]
  })
  event_pattern = var.include_read_only_events || var.event_pattern == "" ? local.every_cloudtrail_event : var.event_pattern
}

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
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "put_on_central_bus" {
  statement {
    sid       = "PutOnCentralBus"
    actions   = ["events:PutEvents"]
    resources = [var.central_event_bus_arn]
  }
}

resource "aws_iam_role" "forward" {
  name_prefix        = "trailalert-forward-"
  description        = "trailalert - lets EventBridge put this account's CloudTrail events on the central bus"
  assume_role_policy = data.aws_iam_policy_document.assume_events.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "forward" {
  name   = "trailalert-forward-to-central-bus"
  role   = aws_iam_role.forward.id
  policy = data.aws_iam_policy_document.put_on_central_bus.json
}

resource "aws_cloudwatch_event_rule" "forward" {
  name_prefix    = "trailalert-forward-"
  description    = "trailalert - the CloudTrail events the rules need, to the central bus"
  event_bus_name = "default"
  event_pattern  = local.event_pattern
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "central_bus" {
  rule      = aws_cloudwatch_event_rule.forward.name
  target_id = "trailalert-central-bus"
  arn       = var.central_event_bus_arn
  role_arn  = aws_iam_role.forward.arn
}
