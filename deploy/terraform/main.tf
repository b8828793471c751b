# OTA Travel production infrastructure: every name here is the one the operators'
# runbook uses (docs/runbook.md). Resources are plain provider resources (no registry
# modules) so that checkov sees all of them offline.

provider "aws" {
  region = var.region

  # Every taggable resource gets Project=ota-travel; cost reports filter on it.
  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name       = "ota-travel-production"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  azs        = var.availability_zones

  tags = {
    Project     = "ota-travel"
    Environment = "production"
    ManagedBy   = "terraform"
  }

  # The six deployments; one ECR repository each (ota-travel-production-<service>).
  services = toset([
    "auth-service",
    "search-service",
    "cart-service",
    "booking-service",
    "payment-service",
    "frontend",
  ])
}
