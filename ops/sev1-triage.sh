#!/usr/bin/env bash
# SEV1 (complete outage) triage: steps 1-2 of the runbook, read-only.
#
# usage: ops/sev1-triage.sh [--out DIR] [--notify]
#
# Collects cluster, ingress, ALB target health, rollout history, events, ArgoCD state and
# error logs of all six services into DIR (default ./incident-<UTC time>) and prints a
# summary. It changes nothing: mitigation (ops/rollback.sh, ops/scale.sh, deleting a pod)
# is a decision for the incident lead, see docs/runbook.md.
# --notify posts the incident announcement to Slack through SLACK_WEBHOOK_URL.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

OUT="./incident-${TS}"
NOTIFY=0
while (($#)); do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --notify) NOTIFY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
require kubectl aws jq
mkdir -p "$OUT"
log "evidence goes to $OUT"

# capture NAME CMD...: run, keep the output in $OUT/NAME.txt, show it.
capture() {
  local name=$1; shift
  { "$@" 2>&1 || echo "(command failed: $*)"; } | tee "$OUT/$name.txt"
}

section "Step 1: assess"
capture nodes kubectl get nodes -o wide
capture pods kubectl get pods -n "$NAMESPACE" -o wide
capture ingress kubectl describe ingress ota-travel-ingress -n "$NAMESPACE"

section "ALB target health"
# The target groups are those the AWS Load Balancer Controller created for the Ingress.
tg_arns=$(kubectl get targetgroupbindings -n "$NAMESPACE" -o jsonpath='{range .items[*]}{.spec.targetGroupARN}{"\n"}{end}' 2>/dev/null || true)
for arn in $tg_arns; do
  capture "targets-$(basename "$arn")" aws elbv2 describe-target-health --target-group-arn "$arn" \
    --query 'TargetHealthDescriptions[].[Target.Id,Target.Port,TargetHealth.State,TargetHealth.Reason]' --output table
done
[[ -n "$tg_arns" ]] || log "no TargetGroupBindings found: is the AWS Load Balancer Controller running?"

section "Step 2: recent changes"
for svc in "${SERVICES[@]}"; do
  capture "rollout-history-$svc" kubectl rollout history "deployment/$svc" -n "$NAMESPACE"
done
if command -v argocd >/dev/null 2>&1; then
  capture argocd argocd app list -l app.kubernetes.io/part-of=ota-travel
fi
capture events kubectl get events -n "$NAMESPACE" --sort-by=.lastTimestamp
capture hpa kubectl get hpa -n "$NAMESPACE"

section "Error logs (all six services, last 30 minutes)"
for svc in "${SERVICES[@]}"; do
  echo "--- $svc"
  kubectl logs -n "$NAMESPACE" -l "app=$svc" --since=30m --tail=-1 --prefix 2>&1 |
    tee "$OUT/logs-$svc.txt" |
    grep -iE '"level":"(error|warn)"|panic|exception' | tail -20 || true
done

section "Application health per pod"
for svc in "${SERVICES[@]}"; do
  for pod in $(kubectl get pods -n "$NAMESPACE" -l "app=$svc" -o jsonpath='{.items[*].metadata.name}'); do
    printf '%-48s ' "$pod"
    kubectl exec -n "$NAMESPACE" "$pod" -- curl -s -m 5 localhost:8081/actuator/health || echo "(no answer)"
    echo
  done
done | tee "$OUT/health.txt"

message="INCIDENT: [SEV1] OTA Travel - Production Outage
Status: Investigating
Impact: All users affected
Time: $(date -u)
Lead: ${INCIDENT_LEAD:-${USER:-unknown}}"
section "Step 4: communicate"
echo "$message"
if (( NOTIFY )); then
  [[ -n "${SLACK_WEBHOOK_URL:-}" ]] || die "--notify needs SLACK_WEBHOOK_URL"
  jq -n --arg text "$message" '{text: $text}' |
    curl -fsS -X POST -H 'Content-Type: application/json' --data @- "$SLACK_WEBHOOK_URL" >/dev/null
  log "posted to Slack"
fi

section "Next (docs/runbook.md, SEV1 step 3)"
cat <<'TEXT'
- Bad release?          ops/rollback.sh <service> --apply   (then revert the image tag in Git)
- Load?                 ops/scale.sh pods <service> <min> <max> --apply
- One unhealthy pod?    kubectl delete pod <pod> -n production   (the Deployment replaces it)
- Database?             ops/daily-health-check.sh and the RDS console; restores: ops/restore-db.sh
TEXT
