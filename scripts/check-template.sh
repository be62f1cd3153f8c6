#!/usr/bin/env bash
# Validates template.yaml offline: the SAM transform (`sam validate`), SAM's lint pass
# (`sam validate --lint`), then cfn-lint with informational checks too. Exits non-zero on any
# error, warning or informational finding.
# Needs the .venv-sam virtualenv: run scripts/bootstrap.sh first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-sam"
template="${1:-$root/template.yaml}"

if [[ ! -x "$venv/bin/sam" || ! -x "$venv/bin/cfn-lint" ]]; then
    echo "check-template: $venv is missing sam or cfn-lint; run scripts/bootstrap.sh" >&2
    exit 2
fi

# `sam validate` builds a boto3 session even with --lint; dummy credentials and a fixed region
# keep it from looking for real ones, and nothing here calls AWS.
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_DEFAULT_REGION=us-east-1
export AWS_REGION=us-east-1
unset AWS_PROFILE
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
export SAM_CLI_TELEMETRY=0
export SAM_CLI_DISABLE_VERSION_CHECK=1

echo "check-template: sam validate" >&2
"$venv/bin/sam" validate --template "$template" --region us-east-1

echo "check-template: sam validate --lint" >&2
"$venv/bin/sam" validate --lint --template "$template" --region us-east-1

echo "check-template: cfn-lint" >&2
"$venv/bin/cfn-lint" --regions us-east-1 --include-checks I -- "$template"

echo "check-template: ok" >&2
