#!/usr/bin/env bash
# Monthly maintenance (first Sunday). Reports always; changes only with --apply.
#
# usage: ops/monthly-maintenance.sh [--apply]
#   KPS_VERSION=<chart version>  upgrade kube-prometheus-stack to exactly this version
#   LOG_RETENTION_DAYS=365       retention given to log groups that have none
#
# 1. JWT key rotation: ops/rotate-jwt-secret.sh (keeps the previous key: nobody logged out).
# 2. kube-prometheus-stack (Helm release `prometheus`): shows deployed and available
#    versions; upgrades only to an explicit KPS_VERSION (its CRDs first), atomically.
# 3. CloudWatch log groups of the project: reviewed (size, retention), never deleted; a
#    group without retention gets LOG_RETENTION_DAYS.
# 4. Cost report: ops/cost-review.sh.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

apply_flag=()
for a in "$@"; do
  case "$a" in
    --apply) APPLY=1; apply_flag=(--apply) ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $a" ;;
  esac
done
require kubectl aws jq helm
here=$(dirname "${BASH_SOURCE[0]}")

section "1. JWT key rotation"
"$here/rotate-jwt-secret.sh" "${apply_flag[@]+"${apply_flag[@]}"}"

section "2. kube-prometheus-stack"
helm repo add prometheus-community https://prometheus-community.github.io/helm-charts --force-update >/dev/null
helm repo update prometheus-community >/dev/null
helm list -n monitoring --filter '^prometheus$' -o json | jq -r '.[] | "deployed: \(.chart) (app \(.app_version))"'
helm search repo prometheus-community/kube-prometheus-stack -o json | jq -r '.[0] | "available: \(.version)"'
if [[ -n "${KPS_VERSION:-}" ]]; then
  # Helm never upgrades CRDs; apply the chart's CRDs of the target version first.
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  helm pull prometheus-community/kube-prometheus-stack --version "$KPS_VERSION" --untar --untardir "$tmp"
  run kubectl apply --server-side --force-conflicts -f "$tmp/kube-prometheus-stack/charts/crds/crds/"
  run helm upgrade prometheus prometheus-community/kube-prometheus-stack -n monitoring \
    --version "$KPS_VERSION" --reuse-values --atomic --timeout 15m
else
  echo "no KPS_VERSION given: not upgrading (read the chart's upgrade notes, then set it)"
fi

section "3. CloudWatch log groups (review, never delete)"
# shellcheck disable=SC2016  # the backticks are JMESPath string literals
groups=$(aws logs describe-log-groups --output json --query \
  'logGroups[?starts_with(logGroupName, `/aws/eks/ota-travel`) || starts_with(logGroupName, `/aws/vpc/ota-travel`) || starts_with(logGroupName, `/aws/rds/instance/ota-travel`)]')
jq -r '.[] | [.logGroupName, ((.storedBytes // 0) / 1073741824 * 100 | floor / 100 | tostring) + " GiB", "retention=" + ((.retentionInDays // "never expires") | tostring)] | @tsv' <<<"$groups" | column -t
for group in $(jq -r '.[] | select(.retentionInDays == null) | .logGroupName' <<<"$groups"); do
  run aws logs put-retention-policy --log-group-name "$group" --retention-in-days "${LOG_RETENTION_DAYS:-365}"
done

section "4. Cost report"
"$here/cost-review.sh"
