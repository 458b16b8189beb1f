variable "central_event_bus_arn" {
  description = "The central module's event_bus_arn output (arn:aws:events:<region>:<account>:event-bus/<name>)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]+$", var.central_event_bus_arn))
    error_message = "central_event_bus_arn must be an event bus ARN."
  }
}

variable "event_pattern" {
  description = "The central module's event_pattern output (`trailalert rules pattern`); empty: every CloudTrail event."
  type        = string
  default     = ""
}

variable "include_read_only_events" {
  description = "Override: forward every CloudTrail event, whatever event_pattern says."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags to attach to resources."
  type        = map(string)
  default     = {}
}
