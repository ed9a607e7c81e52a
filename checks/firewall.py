"""FW-01 (default-drop inbound, only declared openings, persisted, no undeclared listeners, behaviour from
the controller) and SSH-02 (per-source rate limit on new SSH connections), judged from `nft -j list ruleset`,
`ss -Htlnup`, `systemctl is-enabled nftables.service` and probes from the controller.

The ruleset is read as nftables evaluates it: the input-hook base chains whose policy is drop are the
firewall; a packet must be accepted by every one of them, so a port is open only when each such chain
accepts it (following jump/goto into regular chains). Accept rules for loopback, established/related
connections and ICMP types are the baseline; every other accept rule is an opening.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import checks.probes.network  # noqa: F401 - registers the probes these checks use
from checks.model import Check, Facts, MissingFact, Outcome, Params, Status, command_output, fact_value

ANY = "any"
_PER_MINUTE = {"second": 60.0, "minute": 1.0, "hour": 1 / 60, "day": 1 / 1440, "week": 1 / 10080}
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


# --- reading the ruleset -------------------------------------------------------------------------------------

@dataclass
class Ruleset:
    chains: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    rules: dict[tuple[str, str, str], list[dict[str, Any]]] = field(default_factory=dict)
    sets: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    def drop_input_chains(self) -> list[tuple[str, str, str]]:
        return [key for key, chain in self.chains.items()
                if chain.get("hook") == "input" and chain.get("type", "filter") == "filter"
                and chain.get("policy") == "drop" and chain.get("family") in ("inet", "ip", "ip6")]

    def set_elements(self, family: str, table: str, name: str) -> list[Any]:
        return list(self.sets.get((family, table, name.lstrip("@")), {}).get("elem", []))


def parse_ruleset(text: str) -> Ruleset:
    document = json.loads(text)
    ruleset = Ruleset()
    for item in document.get("nftables", []):
        if "chain" in item:
            chain = item["chain"]
            key = (chain["family"], chain["table"], chain["name"])
            ruleset.chains[key] = chain
            ruleset.rules.setdefault(key, [])
        elif "rule" in item:
            rule = item["rule"]
            ruleset.rules.setdefault((rule["family"], rule["table"], rule["chain"]), []).append(rule)
        elif "set" in item:
            found = item["set"]
            ruleset.sets[(found["family"], found["table"], found["name"])] = found
    return ruleset


def ruleset_fact(facts: Facts) -> Ruleset:
    text = command_output(facts, "nft_ruleset")
    try:
        return parse_ruleset(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise MissingFact("nft_ruleset", f"unreadable JSON: {exc}") from exc


def _ports(right: Any) -> list[str]:
    """A dport match's right-hand side as port strings ("22", "8000-8010")."""
    if isinstance(right, bool):
        return []
    if isinstance(right, int):
        return [str(right)]
    if isinstance(right, dict) and "set" in right:
        return [port for item in right["set"] for port in _ports(item)]
    if isinstance(right, dict) and "range" in right:
        low, high = right["range"]
        return [f"{low}-{high}"]
    if isinstance(right, list):
        return [port for item in right for port in _ports(item)]
    return [str(right)]


def _addresses(right: Any) -> list[str]:
    """A saddr match's right-hand side as address/network strings (set references stay "@name")."""
    if isinstance(right, str):
        return [right]
    if isinstance(right, dict) and "prefix" in right:
        return [f"{right['prefix']['addr']}/{right['prefix']['len']}"]
    if isinstance(right, dict) and "range" in right:
        return [f"{right['range'][0]}-{right['range'][1]}"]
    if isinstance(right, dict) and "set" in right:
        return [address for item in right["set"] for address in _addresses(item)]
    if isinstance(right, dict) and "elem" in right:
        return _addresses(right["elem"].get("val"))
    if isinstance(right, list):
        return [address for item in right for address in _addresses(item)]
    return [json.dumps(right, sort_keys=True)]


@dataclass
class Conditions:
    proto: str | None = None
    ports: list[str] | None = None
    sources: list[str] | None = None
    baseline: str | None = None  # loopback, established/related, icmp
    ct_new: bool = False
    unknown: list[str] = field(default_factory=list)

    def merged(self, other: Conditions) -> Conditions:
        return Conditions(proto=other.proto or self.proto,
                          ports=other.ports if other.ports is not None else self.ports,
                          sources=other.sources if other.sources is not None else self.sources,
                          baseline=other.baseline or self.baseline, ct_new=self.ct_new or other.ct_new,
                          unknown=self.unknown + other.unknown)


def rule_conditions(rule: Mapping[str, Any], ruleset: Ruleset) -> tuple[Conditions, dict[str, Any] | None]:
    """What a rule matches, and its verdict ({"accept": None}, {"jump": {...}}...), if any."""
    conditions = Conditions()
    verdict = None
    for expr in rule.get("expr", []):
        if "match" in expr:
            match = expr["match"]
            left, right, op = match.get("left", {}), match.get("right"), match.get("op", "==")
            payload, meta, ct = left.get("payload", {}), left.get("meta", {}), left.get("ct", {})
            if op == "!=":
                conditions.unknown.append(json.dumps(match, sort_keys=True))
            elif payload.get("field") == "dport" and payload.get("protocol") in ("tcp", "udp"):
                conditions.proto, conditions.ports = payload["protocol"], _ports(right)
            elif payload.get("field") == "saddr":
                addresses = []
                for address in _addresses(right):
                    if address.startswith("@"):
                        addresses += _addresses(ruleset.set_elements(rule["family"], rule["table"], address))
                    else:
                        addresses.append(address)
                conditions.sources = addresses
            elif payload.get("protocol") in ("icmp", "icmpv6") and payload.get("field") == "type":
                conditions.baseline = "icmp"
            elif meta.get("key") in ("iif", "iifname") and right == "lo":
                conditions.baseline = "loopback"
            elif meta.get("key") == "l4proto" and right in ("tcp", "udp"):
                conditions.proto = right
            elif meta.get("key") == "l4proto" and right in ("icmp", "ipv6-icmp", "icmpv6"):
                conditions.baseline = conditions.baseline or "icmp"
            elif ct.get("key") == "state":
                states = {right} if isinstance(right, str) else set(right or [])
                if states and states <= {"established", "related"}:
                    conditions.baseline = "established/related"
                elif states == {"new"}:
                    conditions.ct_new = True
                else:
                    conditions.unknown.append(json.dumps(match, sort_keys=True))
            else:
                conditions.unknown.append(json.dumps(match, sort_keys=True))
        for key in ("accept", "drop", "reject", "jump", "goto", "return"):
            if key in expr:
                verdict = {key: expr[key]}
    return conditions, verdict


@dataclass(frozen=True)
class Opening:
    proto: str  # tcp | udp | any
    port: str  # "22", "8000-8010" or "any"
    sources: tuple[str, ...]  # () = any source
    chain: str
    comment: str = ""

    @property
    def service(self) -> str:
        return f"{self.proto}/{self.port}"

    def describe(self) -> str:
        origin = f" from {', '.join(self.sources)}" if self.sources else ""
        return f"{self.service}{origin}"


def chain_openings(ruleset: Ruleset, key: tuple[str, str, str], inherited: Conditions | None = None,
                   depth: int = 0) -> list[Opening]:
    """Everything a chain accepts beyond the baseline, following jump/goto (bounded depth)."""
    openings: list[Opening] = []
    for rule in ruleset.rules.get(key, []):
        own, verdict = rule_conditions(rule, ruleset)
        conditions = (inherited or Conditions()).merged(own)
        if verdict is None or conditions.baseline:
            continue
        if "accept" in verdict:
            ports = conditions.ports or [ANY]
            for port in ports:
                openings.append(Opening(conditions.proto or ANY, port, tuple(conditions.sources or ()),
                                        key[2], str(rule.get("comment", ""))))
        elif ("jump" in verdict or "goto" in verdict) and depth < 8:
            target = (verdict.get("jump") or verdict.get("goto") or {}).get("target")
            openings += chain_openings(ruleset, (key[0], key[1], str(target)), conditions, depth + 1)
    return openings


def effective_openings(ruleset: Ruleset) -> dict[str, list[Opening]]:
    """Openings by service ("tcp/22"), keeping only those every drop-policy input chain accepts."""
    per_chain = [chain_openings(ruleset, key) for key in ruleset.drop_input_chains()]
    if not per_chain:
        return {}

    def accepts(openings: list[Opening], service: str) -> bool:
        return any(o.service == service or (o.proto == ANY and o.port == ANY) for o in openings)

    result: dict[str, list[Opening]] = {}
    for opening in per_chain[0]:
        if all(accepts(openings, opening.service) for openings in per_chain[1:]):
            result.setdefault(opening.service, []).append(opening)
    return result


def declared_services(params: Params) -> set[str]:
    return ({f"tcp/{port}" for port in params["allowed_tcp_ports"]}
            | {f"udp/{port}" for port in params["allowed_udp_ports"]})


# --- FW-01 -------------------------------------------------------------------------------------------------

def _chain_names(ruleset: Ruleset, keys: Iterable[tuple[str, str, str]]) -> list[str]:
    return [f"{family} {table} {name}" for family, table, name in keys]


def evaluate_default_drop(facts: Facts, params: Params) -> Outcome:
    ruleset = ruleset_fact(facts)
    inputs = {f"{k[0]} {k[1]} {k[2]}": ruleset.chains[k].get("policy", "accept")
              for k in ruleset.chains if ruleset.chains[k].get("hook") == "input"}
    drop = _chain_names(ruleset, ruleset.drop_input_chains())
    observed: dict[str, Any] = {"input_chains": inputs or "(none: no input chain, everything is accepted)"}
    if not drop:
        return Outcome(Status.FAIL, "no input chain with policy drop: inbound traffic is accepted by default",
                       observed)
    return Outcome(Status.PASS, f"inbound policy is drop ({', '.join(drop)})", observed)


def evaluate_openings(facts: Facts, params: Params) -> Outcome:
    ruleset = ruleset_fact(facts)
    if not ruleset.drop_input_chains():
        return Outcome(Status.FAIL, "no default-drop input chain: every port is open, none is declared",
                       {"declared": sorted(declared_services(params))})
    openings = effective_openings(ruleset)
    declared = declared_services(params)
    observed: dict[str, Any] = {
        "declared": sorted(declared),
        "open": {service: [o.describe() for o in found] for service, found in sorted(openings.items())},
    }
    extra = sorted(set(openings) - declared)
    missing = sorted(declared - set(openings))
    problems = []
    if extra:
        problems.append("open but not declared: " + ", ".join(
            "; ".join(o.describe() for o in openings[service]) for service in extra))
    if missing:
        problems.append("declared but not open: " + ", ".join(missing))
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, f"the firewall opens exactly the declared services: {', '.join(sorted(declared))}",
                   observed)


def evaluate_persistence(facts: Facts, params: Params) -> Outcome:
    state = command_output(facts, "nftables_service_enabled").strip()
    observed = {"nftables.service": state}
    if state not in ("enabled", "enabled-runtime", "static", "alias"):
        return Outcome(Status.FAIL, f"nftables.service is {state}: the ruleset is not loaded at boot", observed)
    if state == "enabled-runtime":
        return Outcome(Status.FAIL, "nftables.service is enabled only until the next reboot", observed)
    return Outcome(Status.PASS, f"nftables.service is {state}: the ruleset is loaded at boot", observed)


@dataclass(frozen=True)
class Listener:
    proto: str
    address: str
    port: int
    process: str

    @property
    def service(self) -> str:
        return f"{self.proto}/{self.port}"

    @property
    def loopback_only(self) -> bool:
        host = self.address.strip("[]").split("%", 1)[0]
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def parse_ss(text: str) -> list[Listener]:
    """`ss -Htlnup`: Netid State Recv-Q Send-Q Local:Port Peer:Port [Process]."""
    listeners = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[0] not in ("tcp", "udp"):
            continue
        address, _, port = fields[4].rpartition(":")
        if not port.isdigit():
            continue
        process = " ".join(fields[6:])
        name = process.split('"')[1] if process.count('"') >= 2 else process
        listeners.append(Listener(fields[0], address, int(port), name))
    return listeners


def _port_in(port: int, declared: Iterable[Any]) -> bool:
    for item in declared:
        low, _, high = str(item).partition("-")
        if low.isdigit() and int(low) <= port <= int(high if high.isdigit() else low):
            return True
    return False


def evaluate_listeners(facts: Facts, params: Params) -> Outcome:
    listeners = parse_ss(command_output(facts, "listening_sockets"))
    allowed = {"tcp": list(params["allowed_tcp_ports"]), "udp": list(params["allowed_udp_ports"])}
    extra = set(params["allowed_listeners"])
    exposed = [item for item in listeners if not item.loopback_only]
    undeclared = [item for item in exposed
                  if not _port_in(item.port, allowed[item.proto]) and item.service not in extra]
    observed = {
        "listening": sorted({f"{i.service} on {i.address} ({i.process})" for i in exposed}),
        "loopback_only": sorted({f"{i.service} ({i.process})" for i in listeners if i.loopback_only}),
        "declared": sorted(declared_services(params) | extra),
    }
    if undeclared:
        shown = sorted({f"{i.service} on {i.address} ({i.process})" for i in undeclared})
        return Outcome(Status.FAIL, f"listening but not declared: {', '.join(shown)}", observed)
    return Outcome(Status.PASS, f"every listener on a non-loopback address is declared ({len(exposed)} socket(s))",
                   observed)


def evaluate_declared_reachable(facts: Facts, params: Params) -> Outcome:
    scan = fact_value(facts, "fw_port_scan")
    ruleset = ruleset_fact(facts)
    source = scan.get("source")
    openings = effective_openings(ruleset)
    observed: dict[str, Any] = {"from": source, "states": {p: scan["ports"].get(str(p)) for p in scan["declared"]}}
    unreachable, not_tested = [], []
    for port in scan["declared"]:
        state = scan["ports"].get(str(port))
        restricted = [o for o in openings.get(f"tcp/{port}", []) if o.sources]
        if restricted and len(restricted) == len(openings.get(f"tcp/{port}", [])) and source \
                and not _covered(source, [s for o in restricted for s in o.sources]):
            not_tested.append(f"tcp/{port} (open only to {', '.join(s for o in restricted for s in o.sources)})")
        elif state not in ("open", "refused"):
            unreachable.append(f"tcp/{port} {state}")
    if not_tested:
        observed["not_tested"] = not_tested
    if unreachable:
        return Outcome(Status.FAIL, f"declared but not reachable from {source or 'the controller'}: "
                       f"{', '.join(unreachable)}", observed)
    return Outcome(Status.PASS, f"every declared TCP port answers the controller ({source})", observed)


def evaluate_undeclared_closed(facts: Facts, params: Params) -> Outcome:
    scan = fact_value(facts, "fw_port_scan")
    states = {port: scan["ports"].get(str(port)) for port in scan["candidates"]}
    observed = {"from": scan.get("source"), "states": {str(p): s for p, s in states.items()}}
    answered = [f"tcp/{port}" for port, state in states.items() if state == "open"]
    if not states:
        return Outcome(Status.SKIPPED, "no undeclared candidate port to probe (probe_closed_tcp_ports)", observed)
    if answered:
        return Outcome(Status.FAIL, f"undeclared port(s) accept connections from the controller: "
                       f"{', '.join(answered)}", observed)
    # The positive control: "nothing answered" means "closed" only from a host that answered this same scan
    # on its SSH port or a declared one; a dead host or an unused address answers nothing at all.
    positive = sorted(port for port, state in scan["ports"].items() if state == "open")
    observed["answered_on"] = positive
    if not positive:
        raise MissingFact("fw_port_scan", "the host accepted no connection at all in this scan (not on SSH, not on "
                          "a declared port): silence cannot be told from closed ports", observed)
    filtered = sum(1 for state in states.values() if state == "filtered")
    return Outcome(Status.PASS, f"{len(states)} undeclared TCP port(s) do not accept connections "
                   f"({filtered} filtered), while tcp/{', tcp/'.join(positive)} answered", observed)


# --- SSH-02 ------------------------------------------------------------------------------------------------

def _network(text: str) -> IpNetwork | None:
    """An address, network or a-b range (when it is one network) as a network, else None."""
    try:
        if "-" in text:
            low, high = (ipaddress.ip_address(part) for part in text.split("-", 1))
            if low.version != high.version:
                return None
            nets: list[IpNetwork] = list(ipaddress.summarize_address_range(low, high))
            return nets[0] if len(nets) == 1 else None
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _covered(address: str, networks: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for text in networks:
        network = _network(text)
        if network is not None and ip.version == network.version and ip in network:
            return True
    return False


@dataclass
class RateLimit:
    chain: str
    key: str
    rate_per_minute: float
    rate: str
    burst: int
    ct_new: bool
    exempt: list[str]
    ports: list[str]
    precedes_accept: bool


def _limit_statement(expr: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """A per-source limit: `update/add @set { ip saddr limit rate over ... }` or a meter."""
    if "set" in expr and isinstance(expr["set"], dict) and expr["set"].get("op") in ("add", "update"):
        element, statements = expr["set"].get("elem", {}), expr["set"].get("stmt", [])
    elif "meter" in expr:
        element, statements = expr["meter"].get("key", {}), expr["meter"].get("stmt", [])
    else:
        return None
    statements = statements if isinstance(statements, list) else [statements]
    field_ = element.get("payload", {}).get("field") if isinstance(element, dict) else None
    for statement in statements:
        if "limit" in statement and statement["limit"].get("inv") and field_ == "saddr":
            return element["payload"].get("protocol", "?"), statement["limit"]
    return None


def find_rate_limits(ruleset: Ruleset, ssh_port: int) -> list[RateLimit]:
    limits: list[RateLimit] = []
    for key in ruleset.drop_input_chains():
        first_ssh_accept = None
        for index, rule in enumerate(ruleset.rules.get(key, [])):
            conditions, verdict = rule_conditions(rule, ruleset)
            if verdict and "accept" in verdict and not conditions.baseline and \
                    _port_in(ssh_port, conditions.ports or []) and first_ssh_accept is None:
                first_ssh_accept = index
        for index, rule in enumerate(ruleset.rules.get(key, [])):
            conditions, verdict = rule_conditions(rule, ruleset)
            if conditions.baseline or (conditions.ports and not _port_in(ssh_port, conditions.ports)):
                continue
            precedes = first_ssh_accept is None or index < first_ssh_accept
            candidates: list[tuple[tuple[str, str, str], Conditions, Sequence[dict[str, Any]]]] = []
            if verdict and ("jump" in verdict or "goto" in verdict):
                target = (verdict.get("jump") or verdict.get("goto") or {}).get("target")
                chain_key = (key[0], key[1], str(target))
                candidates.append((chain_key, conditions, ruleset.rules.get(chain_key, [])))
            candidates.append((key, Conditions(), [rule]))
            for chain_key, outer, rules in candidates:
                exempt: list[str] = []
                for inner in rules:
                    own, inner_verdict = rule_conditions(inner, ruleset)
                    merged = outer.merged(own)
                    if inner_verdict and ("return" in inner_verdict or "accept" in inner_verdict) \
                            and merged.sources:
                        exempt += merged.sources
                        continue
                    if not inner_verdict or not ({"drop", "reject"} & set(inner_verdict)):
                        continue
                    for expr in inner.get("expr", []):
                        found = _limit_statement(expr)
                        if found is None or merged.ports is None:
                            continue  # no per-source limit, or one on every new connection (not SSH's)
                        family, limit = found
                        per = str(limit.get("per", "second"))
                        limits.append(RateLimit(
                            chain=f"{chain_key[0]} {chain_key[1]} {chain_key[2]}", key=f"{family} saddr",
                            rate_per_minute=float(limit.get("rate", 0)) * _PER_MINUTE.get(per, 60.0),
                            rate=f"{limit.get('rate')}/{per}", burst=int(limit.get("burst", 0) or 0),
                            ct_new=merged.ct_new, exempt=exempt, ports=merged.ports,
                            precedes_accept=precedes))
    return limits


def _within(network: IpNetwork, allowed: Iterable[IpNetwork]) -> bool:
    """Is `network` inside one of `allowed` (same IP version)?"""
    return any(network.version == candidate.version
               and network.subnet_of(candidate)  # type: ignore[arg-type]
               for candidate in allowed)


def evaluate_rate_limit(facts: Facts, params: Params) -> Outcome:
    ruleset = ruleset_fact(facts)
    port = int(params["port"])
    limits = [limit for limit in find_rate_limits(ruleset, port) if limit.precedes_accept]
    if not ruleset.drop_input_chains():
        return Outcome(Status.FAIL, "no default-drop input chain, so no SSH rate limit in force", {})
    if not limits:
        return Outcome(Status.FAIL, f"no per-source limit on new connections to tcp/{port} before it is accepted",
                       {"port": port})
    scan = facts.get("fw_port_scan") or {}
    controller = scan.get("source") if "error" not in scan else None
    declared_exempt = [str(item) for item in params["exempt_sources"]]
    allowed = [net for net in map(_network, [*declared_exempt, *([controller] if controller else [])]) if net]
    problems = []
    families = {limit.key for limit in limits}
    for limit in limits:
        if limit.rate_per_minute > int(params["new_connections_per_minute"]):
            problems.append(f"{limit.key}: {limit.rate} exceeds {params['new_connections_per_minute']}/minute")
        if limit.burst > int(params["burst"]):
            problems.append(f"{limit.key}: burst {limit.burst} exceeds {params['burst']}")
        if not limit.ct_new:
            problems.append(f"{limit.key}: not restricted to new connections (ct state new)")
        for source in limit.exempt:
            network = _network(source)
            if network is None or network.prefixlen == 0 or not _within(network, allowed):
                problems.append(f"exempt but not declared (nor the auditing controller): {source}")
    for source in declared_exempt:
        network = _network(source)
        same_family = [limit for limit in limits if network is not None
                       and limit.key.startswith("ip6") == (network.version == 6)]
        if network is not None and any(not _within(network, [n for n in map(_network, limit.exempt) if n])
                                       for limit in same_family):
            problems.append(f"declared exempt but throttled: {source}")
    observed = {
        "limits": [{"chain": limit.chain, "key": limit.key, "rate": limit.rate, "burst": limit.burst,
                    "new_only": limit.ct_new, "exempt": limit.exempt} for limit in limits],
        "declared_exempt": list(params["exempt_sources"]),
        "controller": controller,
    }
    if "ip saddr" not in families:
        problems.append("no limit keyed on IPv4 source addresses")
    if problems:
        return Outcome(Status.FAIL, "; ".join(sorted(set(problems))), observed)
    rates = ", ".join(sorted({f"{limit.key} {limit.rate} burst {limit.burst}" for limit in limits}))
    return Outcome(Status.PASS, f"new SSH connections are limited per source ({rates})", observed)


def evaluate_burst(facts: Facts, params: Params) -> Outcome:
    burst = fact_value(facts, "ssh_new_connection_burst")
    if "skipped" in burst:
        return Outcome(Status.SKIPPED, str(burst["skipped"]), dict(burst))
    observed = dict(burst)
    ruleset = ruleset_fact(facts)
    source = burst.get("source")
    exempt = [source_ for limit in find_rate_limits(ruleset, int(burst["port"])) for source_ in limit.exempt]
    if source and _covered(str(source), exempt):
        return Outcome(Status.SKIPPED, f"the auditing controller {source} is exempt from the limit, so its burst "
                       "proves nothing; run the burst from a non-exempt source", observed)
    if burst["accepted"] == 0:
        raise MissingFact("ssh_new_connection_burst", f"no connection to tcp/{burst['port']} succeeded at all",
                          burst)
    if burst["accepted"] < burst["attempts"]:
        return Outcome(Status.PASS, f"{burst['accepted']} new connection(s) from {source} accepted, then "
                       f"{burst['outcomes'][-1]}", observed)
    return Outcome(Status.FAIL, f"all {burst['attempts']} new connections from {source} accepted in "
                   f"{burst['seconds']}s: no per-source limit", observed)


FIREWALL_CHECKS: tuple[Check, ...] = (
    Check("fw_input_default_drop", "FW-01", "inbound traffic is dropped unless a rule accepts it",
          facts=("nft_ruleset",), evaluate=evaluate_default_drop),
    Check("fw_openings_match_declared", "FW-01", "the firewall opens exactly the declared services",
          facts=("nft_ruleset",), evaluate=evaluate_openings),
    Check("fw_ruleset_persisted", "FW-01", "nftables.service loads the ruleset at boot",
          facts=("nftables_service_enabled",), evaluate=evaluate_persistence),
    Check("fw_no_undeclared_listeners", "FW-01", "every service listening on the network is declared",
          facts=("listening_sockets",), evaluate=evaluate_listeners),
    Check("fw_declared_ports_reachable", "FW-01", "every declared TCP port answers the controller",
          facts=("nft_ruleset",), evaluate=evaluate_declared_reachable, probes=("fw_port_scan",)),
    Check("fw_undeclared_ports_closed", "FW-01", "undeclared TCP ports do not accept connections",
          facts=(), evaluate=evaluate_undeclared_closed, probes=("fw_port_scan",)),
    Check("ssh_rate_limit_in_ruleset", "SSH-02", "new SSH connections are limited per source in the ruleset",
          facts=("nft_ruleset",), evaluate=evaluate_rate_limit, probes=("fw_port_scan",)),
    Check("ssh_burst_is_limited", "SSH-02", "a burst of new SSH connections from one source is cut off",
          facts=("nft_ruleset",), evaluate=evaluate_burst, probes=("ssh_new_connection_burst",)),
)
