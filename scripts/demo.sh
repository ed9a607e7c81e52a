#!/usr/bin/env bash
# The built-in lab demo: boot lab hosts, declare the demo fleet on them, audit, harden, audit again with the
# example attestations, print the headline and where the report is, tear down.
#
# The demo fleet (stockade/lab/inventory.py, write_demo_inventory; inventory DIR/demo.yml): two operators,
# alice (elects 2FA, enrolled with a seed made for this run) and bob (key only); a customer-data directory
# /srv/customer-data with its group on the first host; the web edge declared on the second. Manual clauses are
# answered by inventory/examples/attestations.yml. The seed lives only in demo.yml (mode 0600), never in the
# output or the reports (checked at the end), and is removed with the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=$1 release=$2 reports=$3
stockade=.venv/bin/stockade
lab_id=${STOCKADE_LAB_ID:-0}
inventory_dir=inventory/lab
[ "$lab_id" = 0 ] || inventory_dir=inventory/lab-$lab_id
inventory=$inventory_dir/demo.yml
attestations=inventory/examples/attestations.yml
[ "$hosts" -ge 2 ] || { echo "demo: needs at least 2 hosts (data host and web edge)" >&2; exit 2; }

cleanup() {
    $stockade lab down --inventory-dir "$inventory_dir" || true
    rm -f "$inventory_dir"/demo.yml "$inventory_dir"/demo-operators "$inventory_dir"/demo-operators.pub \
          "$inventory_dir"/demo-bob.pub
}
trap cleanup EXIT
started=$(date +%s)
$stockade lab up --hosts "$hosts" --release "$release" --inventory-dir "$inventory_dir"
.venv/bin/python -c 'import sys; from pathlib import Path; from stockade.lab.inventory import write_demo_inventory
print("demo fleet:", write_demo_inventory(Path(sys.argv[1])), file=sys.stderr)' "$inventory_dir"
echo "== audit before hardening (failures expected)" >&2
$stockade audit -i "$inventory" -o "$reports" --format json --attestations "$attestations" >/dev/null || true
echo "== harden" >&2
log=$(mktemp)
$stockade harden -i "$inventory" 2>&1 | tee "$log"
echo "== audit after hardening" >&2
status=0
$stockade audit -i "$inventory" -o "$reports" --attestations "$attestations" 2>&1 | tee -a "$log" || status=$?
run_dir=$(ls -1d "$reports"/*/ | sort | tail -n 1)
# The seed must appear in no report of this run.
seed=$(.venv/bin/python -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1]))
print(d["all"]["children"]["lab"]["vars"]["totp_seeds"]["alice"])' "$inventory")
if grep -rqF -- "$seed" "$run_dir" "$log"; then
    echo "demo: the TOTP seed appears in $run_dir or the output" >&2
    exit 3
fi
rm -f "$log"
echo "demo: $(( $(date +%s) - started ))s; the TOTP seed is in no report and no output"
echo "report: $(realpath "$run_dir")/report.html"
exit "$status"
