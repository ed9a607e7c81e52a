"""Shard runs merged into one run (issue 16, "past one machine"): a fleet too large for one controller is
audited in `--limit` shards (or AWX job slices), each its own run with its own results.json; `stockade merge`
turns them into the one run a reviewer reads, with its own run id, reports, signature and history row.

The shards must have judged against the same policy: the same catalogue (digest), the same selected controls,
the same tool version, waivers file and attestations file; their hosts must not overlap (a host audited twice
would have two verdicts). The organisation-level findings (attested manual controls) are the same in every
shard and appear once. Clause verdicts are recomputed from the merged findings with the catalogue the shards
were judged against, which must be the one installed (its digest is checked), so a merged run is exactly what
one audit of all the hosts would have written, apart from its timing.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from checks.catalogue import Catalogue
from stockade.engine.attestations import ORGANISATION_HOST
from stockade.engine.model import Finding, RunMetadata, RunResult
from stockade.engine.verdicts import clause_results
from stockade.errors import UsageError

# What every shard must agree on, as (label, RunMetadata field).
_SAME = (("catalogue", "catalogue_digest"), ("policy", "policy_id"), ("selected controls", "selected_controls"),
         ("tool version", "tool_version"), ("waivers file", "waivers_file"),
         ("attestations file", "attestations_file"))


@dataclass(frozen=True)
class Shard:
    label: str  # where it was read from, for messages
    result: RunResult


def _organisation_key(finding: Finding) -> tuple[str, str, str, str]:
    return finding.check_id, finding.status.value, finding.message, repr(finding.waiver)


def merge_runs(shards: Sequence[Shard], catalogue: Catalogue, now: datetime | None = None) -> RunResult:
    """One run of every shard's hosts and findings; UsageError naming the shard that does not fit."""
    if len(shards) < 2:
        raise UsageError("merge: give at least two shard runs")
    first = shards[0].result.metadata
    for shard in shards[1:]:
        meta = shard.result.metadata
        for label, name in _SAME:
            if getattr(meta, name) != getattr(first, name):
                raise UsageError(f"merge: {shard.label} was judged with another {label} than {shards[0].label} "
                                 f"({getattr(meta, name)!r} vs {getattr(first, name)!r})")
    if first.catalogue_digest != catalogue.digest:
        raise UsageError(f"merge: the shards were judged against catalogue {first.catalogue_digest[:12]}, "
                         f"this stockade has {catalogue.digest[:12]}: merge them with the version that ran them")
    run_ids = [shard.result.metadata.run_id for shard in shards]
    if len(set(run_ids)) != len(run_ids):
        raise UsageError(f"merge: the same run given twice ({', '.join(sorted(run_ids))})")
    owner: dict[str, str] = {}
    for shard in shards:
        for host in shard.result.metadata.hosts:
            if host in owner:
                raise UsageError(f"merge: host {host} is in {owner[host]} and in {shard.label}: shards must not "
                                 "overlap (check the --limit patterns)")
            owner[host] = shard.label
    organisation = [sorted(map(_organisation_key, (f for f in s.result.findings if f.host == ORGANISATION_HOST)))
                    for s in shards]
    for shard, keys in zip(shards[1:], organisation[1:], strict=True):
        if keys != organisation[0]:
            raise UsageError(f"merge: {shard.label} attests the manual controls differently from "
                             f"{shards[0].label}")
    hosts = tuple(host for shard in shards for host in shard.result.metadata.hosts)
    findings = tuple(f for shard in shards for f in shard.result.findings if f.host != ORGANISATION_HOST) \
        + tuple(f for f in shards[0].result.findings if f.host == ORGANISATION_HOST)
    now = now or datetime.now(UTC)
    inventories = sorted({shard.result.metadata.inventory for shard in shards})
    metadata = RunMetadata(
        run_id=f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}",
        started_at=min(shard.result.metadata.started_at for shard in shards),
        finished_at=max(shard.result.metadata.finished_at for shard in shards),
        tool_version=first.tool_version,
        inventory=f"{', '.join(inventories)} (merged shard runs {', '.join(run_ids)})",
        hosts=hosts, policy_id=first.policy_id, catalogue_digest=first.catalogue_digest,
        selected_controls=first.selected_controls, waivers_file=first.waivers_file,
        attestations_file=first.attestations_file)
    clauses = clause_results(catalogue.clauses, catalogue.controls, findings, first.selected_controls)
    return RunResult(metadata, findings, clauses)
