"""Deployment of trailalert: CloudFormation template, Terraform module, packaging and `make deploy`."""
