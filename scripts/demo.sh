#!/usr/bin/env bash
# The built-in lab demo: boot lab hosts, harden them, audit them, print where the report is, tear down.
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=$1 release=$2 reports=$3
stockade=.venv/bin/stockade
inventory=inventory/lab/hosts.yml

trap '$stockade lab down' EXIT
$stockade lab up --hosts "$hosts" --release "$release"
echo "== audit before hardening (failures expected)" >&2
$stockade audit -i "$inventory" -o "$reports" --format json || true
echo "== harden" >&2
$stockade harden -i "$inventory"
echo "== audit after hardening" >&2
$stockade audit -i "$inventory" -o "$reports"
run_dir=$(ls -1d "$reports"/*/ | sort | tail -n 1)
echo "report: $(realpath "$run_dir")/report.html"
