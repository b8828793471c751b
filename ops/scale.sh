#!/usr/bin/env bash
# Scaling procedures (runbook: Scaling Procedures). Dry run unless --apply.
#
# usage:
#   ops/scale.sh pods SERVICE|all MIN [MAX] [--apply]   HPA bounds of one or all services
#   ops/scale.sh nodes MIN MAX DESIRED [--apply]         node group ota-travel-production-general
#   ops/scale.sh db INSTANCE_CLASS [--now] [--apply]     RDS ota-travel-production-db
#   ops/scale.sh redis NODE_TYPE [--now] [--apply]       ElastiCache ota-travel-production-redis
#   ops/scale.sh status                                  HPAs, nodes, RDS, ElastiCache
#
# Pods are scaled through the HPA: `kubectl scale` is undone by the HPA within seconds.
# db/redis changes wait for the maintenance window unless --now is given (a resize means a
# Multi-AZ failover: about a minute of errors). Afterwards commit the same numbers to Git
# (deploy/k8s/base/<service>/scaling.yaml, deploy/terraform variables), otherwise the next
# sync or `terraform apply` puts the old values back.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

NOW=0
args=()
for a in "$@"; do
  case "$a" in
    --apply) APPLY=1 ;;
    --now) NOW=1 ;;
    -h|--help) usage; exit 0 ;;
    *) args+=("$a") ;;
  esac
done
set -- "${args[@]+"${args[@]}"}"
cmd=${1:-status}
shift || true

scale_pods() {
  local target=$1 min=$2 max=${3:-} svc patch
  [[ "$min" =~ ^[0-9]+$ && "$min" -ge 1 ]] || die "MIN must be a positive number"
  local targets=("$target")
  [[ "$target" == all ]] && targets=("${SERVICES[@]}")
  for svc in "${targets[@]}"; do
    is_service "$svc" || die "unknown service '$svc'"
    if [[ -n "$max" ]]; then
      (( max >= min )) || die "MAX must be >= MIN"
      patch=$(jq -cn --argjson min "$min" --argjson max "$max" '{spec: {minReplicas: $min, maxReplicas: $max}}')
    else
      # Keep maxReplicas, but never below the new minimum.
      local cur_max
      cur_max=$(kubectl get hpa "$svc" -n "$NAMESPACE" -o jsonpath='{.spec.maxReplicas}')
      patch=$(jq -cn --argjson min "$min" --argjson max "$(( cur_max > min ? cur_max : min ))" \
        '{spec: {minReplicas: $min, maxReplicas: $max}}')
    fi
    run kubectl patch hpa "$svc" -n "$NAMESPACE" --type merge --patch "$patch"
  done
  [[ "$APPLY" == 1 ]] && kubectl get hpa -n "$NAMESPACE"
  log "commit the same bounds to deploy/k8s/base/<service>/scaling.yaml"
}

scale_nodes() {
  local min=$1 max=$2 desired=$3
  (( min <= desired && desired <= max )) || die "need MIN <= DESIRED <= MAX"
  run aws eks update-nodegroup-config --cluster-name "$CLUSTER" --nodegroup-name "$NODEGROUP" \
    --scaling-config "minSize=$min,maxSize=$max,desiredSize=$desired"
  if [[ "$APPLY" == 1 ]]; then
    aws eks wait nodegroup-active --cluster-name "$CLUSTER" --nodegroup-name "$NODEGROUP"
    kubectl get nodes
  fi
  log "commit min/max to deploy/terraform (variable node_scaling)"
}

scale_db() {
  local class=$1 when=()
  (( NOW )) && when=(--apply-immediately)
  run aws rds modify-db-instance --db-instance-identifier "$DB_INSTANCE" --db-instance-class "$class" "${when[@]+"${when[@]}"}"
  if [[ "$APPLY" == 1 && "$NOW" == 1 ]]; then
    sleep 60  # the status leaves "available" only after a moment
    aws rds wait db-instance-available --db-instance-identifier "$DB_INSTANCE"
  fi
  (( NOW )) || log "pending until the maintenance window; see PendingModifiedValues in 'ops/scale.sh status'"
  log "commit db_instance_class = \"$class\" to deploy/terraform"
}

scale_redis() {
  local type=$1 when=()
  (( NOW )) && when=(--apply-immediately)
  run aws elasticache modify-replication-group --replication-group-id "$REDIS_GROUP" \
    --cache-node-type "$type" "${when[@]+"${when[@]}"}"
  log "commit redis_node_type = \"$type\" to deploy/terraform"
}

status() {
  kubectl get hpa -n "$NAMESPACE"
  kubectl get nodes
  aws eks describe-nodegroup --cluster-name "$CLUSTER" --nodegroup-name "$NODEGROUP" \
    --query 'nodegroup.{Status:status,Scaling:scalingConfig}' --output json
  aws rds describe-db-instances --db-instance-identifier "$DB_INSTANCE" \
    --query 'DBInstances[0].{Status:DBInstanceStatus,Class:DBInstanceClass,Pending:PendingModifiedValues}' --output json
  aws elasticache describe-replication-groups --replication-group-id "$REDIS_GROUP" \
    --query 'ReplicationGroups[0].{Status:Status,NodeType:CacheNodeType}' --output json
}

case "$cmd" in
  pods) (($# >= 2)) || die "usage: pods SERVICE|all MIN [MAX]"; require kubectl jq; scale_pods "$@" ;;
  nodes) (($# == 3)) || die "usage: nodes MIN MAX DESIRED"; require aws kubectl; scale_nodes "$@" ;;
  db) (($# == 1)) || die "usage: db INSTANCE_CLASS"; require aws; scale_db "$1" ;;
  redis) (($# == 1)) || die "usage: redis NODE_TYPE"; require aws; scale_redis "$1" ;;
  status) require aws kubectl; status ;;
  *) die "unknown command '$cmd' (pods, nodes, db, redis, status)" ;;
esac
