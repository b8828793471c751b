#!/usr/bin/env bash
# Manual database backup (runbook: Backup and Recovery). Dry run unless --apply.
#
# usage: ops/backup-db.sh [--export] [--apply]
#
# Takes an RDS snapshot manual-backup-<UTC time> of ota-travel-production-db and waits
# until it is available. With --export it then exports that snapshot (not a placeholder)
# to s3://ota-travel-backups/rds-exports/, with the KMS key and IAM role Terraform created.
# The export is Parquet for analysis and long-term keeping; restores use the snapshot.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

EXPORT=0
for a in "$@"; do
  case "$a" in
    --apply) APPLY=1 ;;
    --export) EXPORT=1 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $a" ;;
  esac
done
require aws

snapshot="manual-backup-${TS}"
run aws rds create-db-snapshot --db-instance-identifier "$DB_INSTANCE" \
  --db-snapshot-identifier "$snapshot" --tags Key=Project,Value=ota-travel Key=Kind,Value=manual
if [[ "$APPLY" == 1 ]]; then
  log "waiting for snapshot $snapshot"
  aws rds wait db-snapshot-available --db-snapshot-identifier "$snapshot"
fi

if (( EXPORT )); then
  account=$(aws_account_id)
  kms_key=$(aws kms describe-key --key-id "alias/ota-travel-production" --query KeyMetadata.Arn --output text)
  role=$(aws iam get-role --role-name ota-travel-production-rds-s3-export --query Role.Arn --output text)
  run aws rds start-export-task \
    --export-task-identifier "export-${TS}" \
    --source-arn "arn:aws:rds:${AWS_REGION}:${account}:snapshot:${snapshot}" \
    --s3-bucket-name "$BACKUP_BUCKET" --s3-prefix rds-exports \
    --iam-role-arn "$role" --kms-key-id "$kms_key"
  [[ "$APPLY" == 1 ]] && log "export running: aws rds describe-export-tasks --export-task-identifier export-${TS}"
fi

aws rds describe-db-snapshots --db-instance-identifier "$DB_INSTANCE" --snapshot-type manual \
  --query 'reverse(sort_by(DBSnapshots,&SnapshotCreateTime))[:5].[DBSnapshotIdentifier,SnapshotCreateTime,Status]' --output table
