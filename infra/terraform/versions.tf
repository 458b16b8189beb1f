terraform {
  required_version = ">= 1.3"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.29" # invoked_via_function_url (the Slack interactions URL, main.tf)
    }
    external = {
      source  = "hashicorp/external"
      version = ">= 2.0"
    }
  }
}
