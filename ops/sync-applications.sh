#!/usr/bin/env bash
# Application state recovery through GitOps (runbook: Application State Recovery).
# Dry run unless --apply.
#
# usage: ops/sync-applications.sh [--apply]
#
# The desired state is what is committed on main: to go back, `git revert` the bad
# commits and push (a local `git checkout <commit>` changes nothing ArgoCD sees). Then this
# syncs the ota-travel Applications in order (common, six services, monitoring) and waits
# until each is Synced and Healthy. No --force: a forced sync deletes and recreates
# resources, which is an outage of its own.
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
require argocd

apps=(ota-travel-common)
for svc in "${SERVICES[@]}"; do apps+=("ota-travel-$svc"); done
apps+=(ota-travel-monitoring)

argocd app list -l app.kubernetes.io/part-of=ota-travel
for app in "${apps[@]}"; do
  run argocd app sync "$app" --prune --timeout 600
  if [[ "$APPLY" == 1 ]]; then
    argocd app wait "$app" --sync --health --timeout 600
  fi
done
