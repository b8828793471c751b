#!/usr/bin/env bash
# SEV2 (service degradation) triage for one service, read-only.
#
# usage: ops/sev2-triage.sh SERVICE
#
# Shows the service's pods that are not Ready (not just not Running), their events, the
# last logs (and those of the previous container after a restart), each pod's
# /actuator/health with its db and cache components, the HPA and the recent rollouts.
# Scaling is a separate, explicit step: ops/scale.sh pods SERVICE MIN MAX --apply.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

case "${1:-}" in
  -h|--help|"") usage; exit 0 ;;
esac
svc=$1
is_service "$svc" || die "unknown service '$svc' (one of: ${SERVICES[*]})"
require kubectl jq

section "Pods of $svc"
kubectl get pods -n "$NAMESPACE" -l "app=$svc" -o wide
kubectl get pods -n "$NAMESPACE" -l "app=$svc" -o json | jq -r '
  .items[] | select(any(.status.conditions[]?; .type=="Ready" and .status!="True"))
  | "NOT READY: \(.metadata.name) phase=\(.status.phase) restarts=\([.status.containerStatuses[]?.restartCount] | add // 0)"'

section "Events of $svc"
kubectl get events -n "$NAMESPACE" --sort-by=.lastTimestamp -o json | jq -r --arg svc "$svc" '
  .items[] | select(.involvedObject.name | startswith($svc))
  | "\(.lastTimestamp) \(.type) \(.involvedObject.kind)/\(.involvedObject.name): \(.reason) \(.message)"' | tail -30

section "Logs of $svc (last 100 lines per pod)"
kubectl logs -n "$NAMESPACE" -l "app=$svc" --tail=100 --prefix
for pod in $(kubectl get pods -n "$NAMESPACE" -l "app=$svc" -o json |
    jq -r '.items[] | select(any(.status.containerStatuses[]?; .restartCount > 0)) | .metadata.name'); do
  echo "--- previous container of $pod"
  kubectl logs -n "$NAMESPACE" "$pod" --previous --tail=50 || true
done

section "Dependencies (/actuator/health of each pod)"
for pod in $(kubectl get pods -n "$NAMESPACE" -l "app=$svc" -o jsonpath='{.items[*].metadata.name}'); do
  printf '%s: ' "$pod"
  kubectl exec -n "$NAMESPACE" "$pod" -- curl -s -m 5 localhost:8081/actuator/health | jq -c '{status, components}' ||
    echo "(no answer)"
done

section "Scaling and rollouts"
kubectl get hpa "$svc" -n "$NAMESPACE"
kubectl rollout history "deployment/$svc" -n "$NAMESPACE"
echo
echo "Scale:    ops/scale.sh pods $svc <min> <max> --apply"
echo "Rollback: ops/rollback.sh $svc --apply"
