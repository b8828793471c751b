#!/usr/bin/env bash
# Security audit (runbook: Security Operations). Read-only, except that --apply runs the
# kube-bench Job (a privileged pod in its own namespace, from the pinned manifest in Git).
#
# usage: ops/security-audit.sh [--apply]
#
# - CIS node benchmark: kube-bench from deploy/security/kube-bench-job.yaml (with --apply).
# - Image vulnerabilities: the scan-on-push findings of the image each deployment RUNS
#   (all six ECR repositories; there is no `latest` tag, tags are immutable versions).
# - Cluster posture: Pod Security level, pods mounting API tokens, NetworkPolicies.
# - Certificate: ACM certificate of the public host, expiry and renewal state.
# Exit status: 0 no findings, 1 findings to review, 2 critical findings.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

for a in "$@"; do
  case "$a" in
    --apply) APPLY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $a" ;;
  esac
done
require kubectl aws jq
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

section "CIS benchmark (kube-bench, worker nodes)"
if [[ "$APPLY" == 1 ]]; then
  kubectl delete job kube-bench -n kube-bench --ignore-not-found
  kubectl apply -f "$repo_root/deploy/security/kube-bench-job.yaml"
  kubectl wait --for=condition=complete job/kube-bench -n kube-bench --timeout=10m || raise 1
  kubectl logs job/kube-bench -n kube-bench | tee "kube-bench-${TS}.txt" | grep -E '^\[FAIL\]|== Summary' || true
  grep -q '^\[FAIL\]' "kube-bench-${TS}.txt" && raise 1
else
  echo "DRY-RUN: kubectl apply -f deploy/security/kube-bench-job.yaml (run with --apply)"
fi

section "Image vulnerabilities (images currently deployed)"
for svc in "${SERVICES[@]}"; do
  image=$(deployed_image "$svc")
  tag=${image##*:}
  repo="ota-travel-production-${svc}"
  counts=$(aws ecr describe-image-scan-findings --repository-name "$repo" --image-id "imageTag=$tag" \
    --query 'imageScanFindings.findingSeverityCounts' --output json 2>/dev/null || echo '{"error":"no scan"}')
  printf '%-34s %-12s %s\n' "$repo" "$tag" "$(jq -c . <<<"$counts")"
  jq -e '.CRITICAL // 0 > 0' <<<"$counts" >/dev/null && raise 2
  jq -e '(.HIGH // 0 > 0) or has("error")' <<<"$counts" >/dev/null && raise 1
done

section "Cluster posture"
level=$(kubectl get namespace "$NAMESPACE" -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')
echo "Pod Security enforce level of $NAMESPACE: ${level:-none}"
[[ "$level" == restricted ]] || raise 2
token_pods=$(kubectl get pods -n "$NAMESPACE" -o json |
  jq -r '.items[] | select(.spec.automountServiceAccountToken != false) | .metadata.name')
[[ -z "$token_pods" ]] || { echo "pods mounting an API token: $token_pods"; raise 1; }
kubectl get networkpolicy default-deny-all -n "$NAMESPACE" >/dev/null 2>&1 ||
  { echo "NetworkPolicy default-deny-all missing"; raise 2; }
for svc in "${SERVICES[@]}"; do
  # The workloads need no Kubernetes API access at all.
  if kubectl auth can-i get secrets -n "$NAMESPACE" --as="system:serviceaccount:${NAMESPACE}:${svc}" >/dev/null 2>&1; then
    echo "service account $svc can read Secrets"
    raise 2
  fi
done

section "Certificate of $DOMAIN"
arn=$(aws acm list-certificates --query "CertificateSummaryList[?DomainName=='${DOMAIN}'].CertificateArn | [0]" --output text)
if [[ -z "$arn" || "$arn" == None ]]; then
  echo "no ACM certificate for $DOMAIN"
  raise 2
else
  aws acm describe-certificate --certificate-arn "$arn" \
    --query 'Certificate.{Status:Status,NotAfter:NotAfter,Renewal:RenewalSummary.RenewalStatus,Eligible:RenewalEligibility}' --output table
  not_after=$(aws acm describe-certificate --certificate-arn "$arn" --query Certificate.NotAfter --output text)
  days_left=$(( ($(date -u -d "$not_after" +%s) - $(date -u +%s)) / 86400 ))
  echo "expires in $days_left days"
  # ACM renews DNS-validated certificates from 60 days before expiry; 30 days left means
  # renewal is failing (validation record removed?).
  (( days_left > 30 )) || raise 2
fi

section "Result"
echo "status $STATUS (0 clean, 1 review, 2 critical)"
exit "$STATUS"
