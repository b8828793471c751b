# Secrets Manager entries read by the ExternalSecrets in deploy/k8s/base/common.

# JWT key ring {"secret":"...","previous":"..."}. Terraform creates the secret and its
# first value only; ops/rotate-jwt-secret.sh rotates it afterwards (ignore_changes), so
# a later `terraform apply` never reverts a rotation.
resource "aws_secretsmanager_secret" "jwt" {
  # checkov:skip=CKV2_AWS_57:Rotated by ops/rotate-jwt-secret.sh (two-phase, keeps "previous"); a Lambda rotation would log users out
  name                    = "ota-travel/production/jwt"
  description             = "OTA Travel JWT signing keys (ExternalSecret jwt-secrets)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 30
}

resource "random_password" "jwt_initial" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret_version" "jwt_initial" {
  secret_id     = aws_secretsmanager_secret.jwt.id
  secret_string = jsonencode({ secret = random_password.jwt_initial.result })

  lifecycle {
    ignore_changes = [secret_string, version_stages]
  }
}

# PostgreSQL connection of the application (ExternalSecret db-credentials).
resource "aws_secretsmanager_secret" "db" {
  # checkov:skip=CKV2_AWS_57:The password is Terraform-managed (random_password); rotate by tainting it and applying, then restart the pods
  name                    = "ota-travel/production/db"
  description             = "OTA Travel PostgreSQL connection (ExternalSecret db-credentials)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "db" {
  secret_id = aws_secretsmanager_secret.db.id
  secret_string = jsonencode({
    host     = aws_db_instance.main.address
    port     = tostring(aws_db_instance.main.port)
    dbname   = aws_db_instance.main.db_name
    username = aws_db_instance.main.username
    password = random_password.db.result
  })
}

# Redis URL with its AUTH token (ExternalSecret redis-credentials).
resource "aws_secretsmanager_secret" "redis" {
  # checkov:skip=CKV2_AWS_57:The AUTH token is Terraform-managed (random_password); rotating it needs an ElastiCache AUTH rotation, done by apply
  name                    = "ota-travel/production/redis"
  description             = "OTA Travel Redis URL (ExternalSecret redis-credentials)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "redis" {
  secret_id = aws_secretsmanager_secret.redis.id
  secret_string = jsonencode({
    url = "rediss://:${random_password.redis.result}@${aws_elasticache_replication_group.main.primary_endpoint_address}:6379"
  })
}

# The SMTP relay booking-service sends e-mails through (ExternalSecret smtp-credentials):
# {"url": "smtps://USER:PASSWORD@email-smtp.REGION.amazonaws.com:465"} or any relay with
# TLS. Terraform creates the entry with a placeholder the pods refuse to start with;
# ops put the real URL with `aws secretsmanager put-secret-value` (docs/runbook.md,
# "Notifications"), and a later apply leaves it alone.
resource "aws_secretsmanager_secret" "smtp" {
  # checkov:skip=CKV2_AWS_57:The relay's credentials are issued by the mail provider; rotate them there and put the new URL
  name                    = "ota-travel/production/smtp"
  description             = "OTA Travel SMTP relay URL (ExternalSecret smtp-credentials)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "smtp_placeholder" {
  secret_id     = aws_secretsmanager_secret.smtp.id
  secret_string = jsonencode({ url = "set-me" })

  lifecycle {
    ignore_changes = [secret_string, version_stages]
  }
}
