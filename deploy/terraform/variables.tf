variable "region" {
  description = "AWS region (the runbook's ARNs use us-east-1)."
  type        = string
  default     = "us-east-1"
}

variable "availability_zones" {
  description = "The three AZs of the VPC, pinned so that subnets never move when AWS adds a zone."
  type        = list(string)
  default     = ["us-east-1a", "us-east-1b", "us-east-1c"]

  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "Exactly three availability zones: the subnet layout in network.tf has three of each kind."
  }
}

variable "kubernetes_version" {
  description = "EKS control-plane version. CI validates the manifests against the same version."
  type        = string
  default     = "1.34"
}

variable "domain_name" {
  description = "Public host name served by the ALB (Ingress ota-travel-ingress)."
  type        = string
  default     = "ota-travel.example.com"
}

variable "route53_zone_id" {
  description = "Public hosted zone for domain_name; ACM validation records are written there."
  type        = string
}

variable "vpc_cidr" {
  description = "VPC range. The NetworkPolicies in deploy/k8s/base/common hard-code its sub-ranges."
  type        = string
  default     = "10.40.0.0/16"
}

variable "node_instance_types" {
  description = "Instance types of node group ota-travel-production-general."
  type        = list(string)
  default     = ["m7i.large", "m6i.large"]
}

variable "node_scaling" {
  description = "Node group size (runbook: min 3, max 15, desired 6). desired_size is only the initial value."
  type = object({
    min_size     = number
    max_size     = number
    desired_size = number
  })
  default = {
    min_size     = 3
    max_size     = 15
    desired_size = 6
  }
}

variable "db_instance_class" {
  description = "RDS instance class. Pool sizing: sum of HPA maxReplicas x DB_POOL_MAX must stay below max_connections."
  type        = string
  default     = "db.r6g.large"
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.medium"
}

variable "cluster_admin_role_arns" {
  description = "IAM roles (operators, break-glass) given cluster-admin through EKS access entries."
  type        = list(string)
  default     = []
}

variable "operator_cidrs" {
  description = "Private ranges (company VPN) allowed to reach the private EKS API endpoint."
  type        = list(string)
  default     = ["10.0.0.0/8"]
}
