#!/usr/bin/env bash
# JWT signing-key rotation without logging anybody out. Dry run unless --apply.
#
# usage: ops/rotate-jwt-secret.sh [--apply]
#
# The secret ota-travel/production/jwt holds {"secret": S, "previous": P}: services sign
# with S and accept S and P. `ota ops jwt rotate` (or jq + openssl when the binary is not
# installed) turns {"secret": S} into {"secret": N, "previous": S}. Rolled out in one step,
# pods still on the old file would reject tokens signed with N by the pods already
# restarted, so the rotation goes in two phases:
#   1. {"secret": S, "previous": N}  every pod learns N while still signing with S;
#   2. {"secret": N, "previous": S}  pods sign with N; tokens signed with S stay valid.
# Each phase: put the value, force the ExternalSecret jwt-secrets to sync, wait until the
# Kubernetes Secret holds it, restart the six deployments one by one and wait for each.
# Secret values are never printed or passed on a command line.
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
require aws kubectl jq openssl sha256sum

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

aws secretsmanager get-secret-value --secret-id "$JWT_SECRET_ID" --query SecretString --output text >"$work/current"

# The next document, from the application itself when available.
if command -v ota >/dev/null 2>&1; then
  env -u JWT_SECRET ota ops jwt rotate <"$work/current" >"$work/next"
else
  # Same rule as `ota ops jwt rotate`: a raw secret or {"secret": ...}; current -> previous.
  current_secret=$(jq -Rr 'fromjson? // . | if type == "object" then .secret else . end' <"$work/current")
  [[ -n "$current_secret" && "$current_secret" != null ]] || die "current secret has no \"secret\""
  jq -cn --arg new "$(openssl rand -base64 48 | tr -d '\n')" --arg cur "$current_secret" \
    '{secret: $new, previous: $cur}' >"$work/next"
  unset current_secret
fi
jq -e '.secret and .previous and .secret != .previous' "$work/next" >/dev/null || die "rotation produced an invalid document"
# Phase 1 document: keep signing with the current key, accept the new one.
jq -c '{secret: .previous, previous: .secret}' "$work/next" >"$work/phase1"

secret_sha() {
  kubectl get secret jwt-secrets -n "$NAMESPACE" -o jsonpath='{.data.jwt\.json}' | base64 -d | sha256sum | cut -d' ' -f1
}

publish() { # FILE LABEL
  local file=$1 label=$2 want deadline
  log "phase $label: publishing to $JWT_SECRET_ID"
  run aws secretsmanager put-secret-value --secret-id "$JWT_SECRET_ID" --secret-string "file://$file"
  run kubectl annotate externalsecret jwt-secrets -n "$NAMESPACE" "force-sync=$(date +%s)" --overwrite
  [[ "$APPLY" == 1 ]] || return 0
  want=$(sha256sum "$file" | cut -d' ' -f1)
  deadline=$((SECONDS + 300))
  until [[ "$(secret_sha)" == "$want" ]]; do
    (( SECONDS < deadline )) || die "Secret jwt-secrets did not receive phase $label within 5 minutes"
    sleep 5
  done
  log "phase $label: Secret jwt-secrets updated"
  for svc in "${SERVICES[@]}"; do
    kubectl rollout restart "deployment/$svc" -n "$NAMESPACE"
    kubectl rollout status "deployment/$svc" -n "$NAMESPACE" --timeout=10m
  done
}

publish "$work/phase1" "1 (learn the new key)"
publish "$work/next" "2 (sign with the new key)"

if [[ "$APPLY" == 1 ]]; then
  section "Verify"
  kubectl get pods -n "$NAMESPACE" -l app.kubernetes.io/part-of=ota-travel
  kubectl logs -n "$NAMESPACE" -l app=auth-service --since=10m --tail=-1 |
    jq -cR 'fromjson? | select((.level // "" | ascii_downcase) == "error")' | tail -10 || true
  log "rotation done; the previous version stays in Secrets Manager as AWSPREVIOUS"
fi
