"""Where one host's audit time goes (issue 16): every phase of `stockade audit` timed on its own, in the order
the engine runs it, against a running lab (or any inventory).

Run: `python -m bench.audit_profile INVENTORY [HOST]`. Prints one JSON document: seconds for the imports, the
inventory parse, the plan, the reachability check, the collector (and its slowest facts, as the host reports
them), each probe alone, then the whole audit_target as the engine runs it (everything at once). Never
asserted in tests.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

started = time.perf_counter()
from stockade.engine import audit as engine  # noqa: E402 - the import itself is measured
from stockade.engine.collect import collect  # noqa: E402
from stockade.engine.reachability import ssh_silence  # noqa: E402
from stockade.engine.targets import load_targets  # noqa: E402

IMPORTS = time.perf_counter() - started


def timed(function: Any, *args: Any) -> tuple[float, Any]:
    begun = time.perf_counter()
    value = function(*args)
    return round(time.perf_counter() - begun, 3), value


def main(inventory: str, host: str = "all") -> None:
    from checks.probes import run_probe

    report: dict[str, Any] = {"imports_s": round(IMPORTS, 3)}
    report["inventory_s"], targets = timed(load_targets, Path(inventory), host)
    target = targets[0]
    report["plan_s"], plan = timed(engine.plan_audit)
    report["host_plan_s"], host_plan = timed(engine.host_plan_for, plan, target, inventory)
    report["reachability_s"], _ = timed(ssh_silence, target, plan.connect_timeout)
    report["collector_s"], collection = timed(collect, target, host_plan.fact_keys, plan.timeout)
    report["collector_error"] = collection.error
    # Each fact alone, in its own collector session: the session's own cost is the empty request's.
    report["empty_session_s"], _ = timed(collect, target, [], plan.timeout)
    alone = {key: timed(collect, target, [key], plan.timeout)[0] for key in host_plan.fact_keys}
    report["slowest_facts_s"] = dict(sorted(alone.items(), key=lambda item: -item[1])[:8])
    probe_target = target.probe_target()
    report["probes_s"] = {}
    for name in sorted(host_plan.probe_params):
        seconds, _ = timed(run_probe, probe_target, name, host_plan.probe_params[name])
        report["probes_s"][name] = seconds
        time.sleep(1)  # let limiters (SSH meter, 429 bucket) refill a little between probes
    time.sleep(10)
    report["audit_target_s"], _ = timed(engine.audit_target, plan, target, host_plan)
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main(*sys.argv[1:])
