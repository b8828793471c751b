output "cluster_name" {
  value = aws_eks_cluster.main.name
}

output "node_group_name" {
  value = aws_eks_node_group.general.node_group_name
}

output "db_instance_identifier" {
  value = aws_db_instance.main.identifier
}

output "db_endpoint" {
  description = "Published to ota-travel/production/db; the pods read it from there."
  value       = aws_db_instance.main.address
}

output "redis_replication_group_id" {
  value = aws_elasticache_replication_group.main.replication_group_id
}

output "ecr_repository_urls" {
  description = "Image names for deploy/k8s/overlays/production/<service> (kustomize images)."
  value       = { for k, r in aws_ecr_repository.service : k => r.repository_url }
}

output "backups_bucket" {
  value = aws_s3_bucket.backups.bucket
}

output "kms_key_arn" {
  description = "Used by ops/backup-db.sh for snapshot exports."
  value       = aws_kms_key.main.arn
}

output "rds_export_role_arn" {
  value = aws_iam_role.rds_export.arn
}

output "certificate_arn" {
  value = aws_acm_certificate_validation.main.certificate_arn
}

output "external_secrets_role_arn" {
  description = "Annotate service account external-secrets/external-secrets with it (eks.amazonaws.com/role-arn)."
  value       = aws_iam_role.external_secrets.arn
}

output "lb_controller_role_arn" {
  description = "Annotate service account kube-system/aws-load-balancer-controller with it."
  value       = aws_iam_role.lb_controller.arn
}

output "vpc_id" {
  description = "Give it to the load balancer controller (--aws-vpc-id): IMDS is closed to pods."
  value       = aws_vpc.main.id
}
