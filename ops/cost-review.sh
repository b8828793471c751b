#!/usr/bin/env bash
# Monthly cost review and right-sizing (runbook: Cost Optimization). Read-only.
#
# usage: ops/cost-review.sh
#
# - Last calendar month's cost of resources tagged Project=ota-travel, by AWS service
#   (UnblendedCost: BlendedCost averages rates across a consolidated-billing family).
#   The Project tag must be activated as a cost allocation tag.
# - Pods: usage (kubectl top) next to the requests of every container.
# - RDS: Compute Optimizer's RDS recommendations for ota-travel-production-db (its EC2 API
#   does not take database ARNs), and 14 days of CPU from CloudWatch.
# - Nodes: Compute Optimizer's Auto Scaling group recommendations for the node group.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) die "unknown argument: $1" ;;
esac
require aws kubectl jq

start=$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%Y-%m-%d)
end=$(date -u +%Y-%m-01)

section "Cost $start .. $end (Project=ota-travel), by AWS service"
aws ce get-cost-and-usage --time-period "Start=$start,End=$end" --granularity MONTHLY \
  --metrics UnblendedCost --group-by Type=DIMENSION,Key=SERVICE \
  --filter '{"Tags":{"Key":"Project","Values":["ota-travel"]}}' --output json |
  jq -r '.ResultsByTime[0].Groups | sort_by(-(.Metrics.UnblendedCost.Amount | tonumber))[]
         | [.Keys[0], (.Metrics.UnblendedCost.Amount | tonumber * 100 | round / 100 | tostring), .Metrics.UnblendedCost.Unit] | @tsv' |
  column -t -s $'\t'

section "Pods: usage vs requests ($NAMESPACE)"
kubectl top pods -n "$NAMESPACE" --containers --no-headers >"${TMPDIR:-/tmp}/ota-top.$$" || true
kubectl get pods -n "$NAMESPACE" -o json | jq -r '
  .items[] | .metadata.name as $p | .spec.containers[]
  | [$p, .name, (.resources.requests.cpu // "-"), (.resources.requests.memory // "-")] | @tsv' |
  while IFS=$'\t' read -r pod container cpu_req mem_req; do
    usage=$(awk -v p="$pod" -v c="$container" '$1==p && $2==c {print $3, $4}' "${TMPDIR:-/tmp}/ota-top.$$")
    printf '%-48s %-16s req cpu=%-6s mem=%-7s used %s\n' "$pod" "$container" "$cpu_req" "$mem_req" "${usage:--}"
  done
rm -f "${TMPDIR:-/tmp}/ota-top.$$"

section "RDS $DB_INSTANCE"
account=$(aws_account_id)
db_arn="arn:aws:rds:${AWS_REGION}:${account}:db:${DB_INSTANCE}"
aws compute-optimizer get-rds-database-recommendations --resource-arns "$db_arn" --output json 2>/dev/null |
  jq -r '.rdsDBRecommendations[]? | "finding: \(.instanceFinding // "-")  current: \(.currentDBInstanceClass)  options: \([.instanceRecommendationOptions[]?.dbInstanceClass] | join(", "))"' ||
  echo "Compute Optimizer has no RDS recommendation (not opted in, or too little history)"
aws cloudwatch get-metric-statistics --namespace AWS/RDS --metric-name CPUUtilization \
  --dimensions "Name=DBInstanceIdentifier,Value=$DB_INSTANCE" \
  --start-time "$(date -u -d '14 days ago' +%Y-%m-%dT%H:%M:%SZ)" --end-time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --period 1209600 --statistics Average Maximum --query 'Datapoints[0].{AverageCPU:Average,MaxCPU:Maximum}' --output table

section "Nodes ($NODEGROUP)"
asgs=$(aws eks describe-nodegroup --cluster-name "$CLUSTER" --nodegroup-name "$NODEGROUP" \
  --query 'nodegroup.resources.autoScalingGroups[].name' --output text)
for asg in $asgs; do
  aws compute-optimizer get-auto-scaling-group-recommendations \
    --auto-scaling-group-arns "$(aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$asg" \
      --query 'AutoScalingGroups[0].AutoScalingGroupARN' --output text)" --output json 2>/dev/null |
    jq -r '.autoScalingGroupRecommendations[]? | "finding: \(.finding)  current: \(.currentConfiguration.instanceType)  options: \([.recommendationOptions[]?.configuration.instanceType] | join(", "))"' ||
    echo "no Compute Optimizer recommendation for $asg"
done
