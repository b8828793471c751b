#!/usr/bin/env bash
# Database recovery (runbook: Point-in-Time Recovery, Full Recovery from Snapshot).
# Dry run unless --apply.
#
# usage:
#   ops/restore-db.sh list                                     snapshots and the PITR window
#   ops/restore-db.sh pitr --time 2026-01-31T09:30:00Z [--apply]
#   ops/restore-db.sh snapshot --snapshot-id ID [--apply]
#   ops/restore-db.sh cutover [--apply]
#
# pitr/snapshot restore into a NEW instance ota-travel-production-db-restored with the
# production network, parameter group, class and Multi-AZ settings (looked up, not typed),
# and wait for it. Nothing points at it yet: verify it first (docs/runbook.md).
#
# cutover swaps the names: production becomes ota-travel-production-db-pre-restore-<time>,
# the restored instance becomes ota-travel-production-db. The endpoint host name of an RDS
# instance is derived from its name, so the Secret db-credentials stays right; the six
# deployments are restarted to reconnect. Nothing is edited behind ArgoCD's back, and the
# old instance is kept (deletion protection) until you delete it.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

RESTORED="${DB_INSTANCE}-restored"
cmd="" time="" snapshot=""
while (($#)); do
  case "$1" in
    --apply) APPLY=1; shift ;;
    --time) time=$2; shift 2 ;;
    --snapshot-id) snapshot=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    list|pitr|snapshot|cutover) cmd=$1; shift ;;
    *) die "unknown argument: $1" ;;
  esac
done
[[ -n "$cmd" ]] || { usage; exit 2; }
require aws

exists() {
  aws rds describe-db-instances --db-instance-identifier "$1" >/dev/null 2>&1
}

# The settings the restored copy must share with production.
source_settings() {
  # shellcheck disable=SC2016  # the backticks are a JMESPath string literal
  local q='DBInstances[0].[DBSubnetGroup.DBSubnetGroupName, join(`,`, VpcSecurityGroups[].VpcSecurityGroupId), DBParameterGroups[0].DBParameterGroupName, DBInstanceClass, MultiAZ]'
  read -r SUBNET_GROUP SG_IDS PARAM_GROUP CLASS MULTI_AZ < <(
    aws rds describe-db-instances --db-instance-identifier "$DB_INSTANCE" --query "$q" --output text)
  MULTI_AZ_FLAG=--no-multi-az
  [[ "$MULTI_AZ" == True ]] && MULTI_AZ_FLAG=--multi-az
}

common_restore_args() {
  printf '%s\n' --db-subnet-group-name "$SUBNET_GROUP" --vpc-security-group-ids
  tr ',' '\n' <<<"$SG_IDS"
  printf '%s\n' --db-parameter-group-name "$PARAM_GROUP" --db-instance-class "$CLASS" "$MULTI_AZ_FLAG" \
    --no-publicly-accessible --deletion-protection --copy-tags-to-snapshot \
    --tags Key=Project,Value=ota-travel Key=Kind,Value=restore
}

wait_restored() {
  if [[ "$APPLY" == 1 ]]; then
    log "waiting for $RESTORED (tens of minutes)"
    aws rds wait db-instance-available --db-instance-identifier "$RESTORED"
    aws rds describe-db-instances --db-instance-identifier "$RESTORED" \
      --query 'DBInstances[0].{Status:DBInstanceStatus,Endpoint:Endpoint.Address}' --output table
    log "verify it (docs/runbook.md), then: ops/restore-db.sh cutover --apply"
  fi
}

case "$cmd" in
  list)
    aws rds describe-db-instances --db-instance-identifier "$DB_INSTANCE" \
      --query 'DBInstances[0].{LatestRestorableTime:LatestRestorableTime,BackupRetentionDays:BackupRetentionPeriod}' --output table
    aws rds describe-db-snapshots --db-instance-identifier "$DB_INSTANCE" \
      --query 'reverse(sort_by(DBSnapshots,&SnapshotCreateTime))[].[DBSnapshotIdentifier,SnapshotType,SnapshotCreateTime,Status]' \
      --output table
    ;;
  pitr|snapshot)
    if exists "$RESTORED"; then
      log "$RESTORED already exists; waiting for it instead of restoring again"
      wait_restored
      exit 0
    fi
    source_settings
    mapfile -t extra < <(common_restore_args)
    if [[ "$cmd" == pitr ]]; then
      [[ -n "$time" ]] || die "pitr needs --time (UTC, e.g. 2026-01-31T09:30:00Z)"
      date -u -d "$time" >/dev/null 2>&1 || die "--time is not a date: $time"
      run aws rds restore-db-instance-to-point-in-time \
        --source-db-instance-identifier "$DB_INSTANCE" \
        --target-db-instance-identifier "$RESTORED" \
        --restore-time "$time" "${extra[@]}"
    else
      [[ -n "$snapshot" ]] || die "snapshot needs --snapshot-id (see: ops/restore-db.sh list)"
      run aws rds restore-db-instance-from-db-snapshot \
        --db-instance-identifier "$RESTORED" \
        --db-snapshot-identifier "$snapshot" "${extra[@]}"
    fi
    wait_restored
    ;;
  cutover)
    exists "$RESTORED" || die "$RESTORED does not exist: restore first"
    require kubectl
    old="${DB_INSTANCE}-pre-restore-${TS}"
    log "writes between the restore point and now are NOT in $RESTORED"
    run aws rds modify-db-instance --db-instance-identifier "$DB_INSTANCE" \
      --new-db-instance-identifier "$old" --apply-immediately
    if [[ "$APPLY" == 1 ]]; then
      sleep 60
      aws rds wait db-instance-available --db-instance-identifier "$old"
    fi
    run aws rds modify-db-instance --db-instance-identifier "$RESTORED" \
      --new-db-instance-identifier "$DB_INSTANCE" --apply-immediately
    if [[ "$APPLY" == 1 ]]; then
      sleep 60
      aws rds wait db-instance-available --db-instance-identifier "$DB_INSTANCE"
    fi
    for svc in "${SERVICES[@]}"; do
      run kubectl rollout restart "deployment/$svc" -n "$NAMESPACE"
    done
    if [[ "$APPLY" == 1 ]]; then
      for svc in "${SERVICES[@]}"; do
        kubectl rollout status "deployment/$svc" -n "$NAMESPACE" --timeout=10m
      done
    fi
    cat <<TEXT
Done. Follow-up (docs/runbook.md):
  - Terraform: terraform state rm aws_db_instance.main && terraform import aws_db_instance.main $DB_INSTANCE
    then terraform plan (re-applies monitoring / Performance Insights settings).
  - Keep $old until the incident review, then disable its deletion protection and delete it.
TEXT
    ;;
esac
