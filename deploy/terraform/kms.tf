# One customer-managed key for the production data of OTA Travel (RDS, ElastiCache,
# Secrets Manager, S3 backups, ECR, EKS secrets, CloudWatch Logs). Services use it through
# the IAM permissions of their callers; CloudWatch Logs needs an explicit grant.
data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_109:In a key policy "*" is this key only; account root administers it (AWS default key policy)
  # checkov:skip=CKV_AWS_111:In a key policy "*" is this key only; writes are limited by IAM policies of the account
  # checkov:skip=CKV_AWS_356:In a key policy "*" is this key only
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogs"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "main" {
  description             = "${local.name} data encryption"
  deletion_window_in_days = 30
  enable_key_rotation     = true
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.main.key_id
}
