#!/usr/bin/env bash
# Roll one service back to its previous (or a given) revision: SEV1 step 3 mitigation.
# Dry run unless --apply.
#
# usage: ops/rollback.sh SERVICE [--to-revision N] [--apply]
#
# Break-glass path: `kubectl rollout undo` works at once. The ArgoCD Applications run
# without selfHeal, so the rollback stays until the next commit to that service; make that
# commit the revert of the bad image tag (deploy/k8s/overlays/production/SERVICE), or the
# next sync redeploys the broken release.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

svc="" revision=()
while (($#)); do
  case "$1" in
    --apply) APPLY=1; shift ;;
    --to-revision) revision=(--to-revision "$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) svc=$1; shift ;;
  esac
done
[[ -n "$svc" ]] || { usage; exit 2; }
is_service "$svc" || die "unknown service '$svc' (one of: ${SERVICES[*]})"
require kubectl

kubectl rollout history "deployment/$svc" -n "$NAMESPACE"
echo "current image: $(deployed_image "$svc")"
run kubectl rollout undo "deployment/$svc" -n "$NAMESPACE" "${revision[@]+"${revision[@]}"}"
if [[ "$APPLY" == 1 ]]; then
  kubectl rollout status "deployment/$svc" -n "$NAMESPACE" --timeout=10m
  echo "now running: $(deployed_image "$svc")"
  log "revert the image tag in deploy/k8s/overlays/production/$svc/kustomization.yaml and push"
fi
