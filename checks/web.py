"""WEB-01 (rate limiting of login and API paths) and TLS-02's redirect of plain HTTP, by behaviour.

Both judge what the controller met (checks/probes/http.py), never nginx's configuration text.
Connection refused is a fact about the host (nothing listens, so nothing is limited or redirected):
FAIL. A timeout or any other failure to find out is ERROR, never a pass. A host that declares no TLS endpoint
(`tls_endpoints: []`) is not probed (WEB-01 over https, TLS-02's redirect): SKIPPED, with that reason.
"""

from __future__ import annotations

from typing import Any

import checks.probes.http  # noqa: F401 - registers the http_redirect and rate_limit_burst probes
from checks.model import Check, Facts, MissingFact, Outcome, Params, Status, fact_value
from checks.probes import not_applicable_outcome

REDIRECT_STATUSES = (301, 302, 307, 308)


def evaluate_rate_limit(facts: Facts, params: Params) -> Outcome:
    result = fact_value(facts, "rate_limit_burst")
    skipped = not_applicable_outcome(result)
    if skipped is not None:
        return skipped
    allowance = int(params["allowance"])
    problems: list[str] = []
    unevaluated: list[str] = []
    observed: dict[str, Any] = {"base_url": result.get("base_url"), "allowance": allowance}
    for path, outcome in result.get("paths", {}).items():
        observed[path] = outcome
        if "error" in outcome:
            unevaluated.append(f"{path}: {outcome['error']}")
            continue
        if outcome.get("connection") == "refused":
            problems.append(f"{path}: connection refused, nothing serves (or limits) it")
            continue
        steady = [status for status in outcome["steady"]["statuses"] if status == 429]
        if steady:
            problems.append(f"{path}: a slow steady rate ({outcome['steady']['requests']} requests "
                            f"{outcome['steady']['interval_seconds']}s apart) met 429 "
                            f"{len(steady)} time(s): {outcome['steady']['statuses']}")
        burst = outcome["burst"]
        first = burst["first_429_at_request"]
        if first is None:
            problems.append(f"{path}: a burst of {burst['requests']} requests never met 429 "
                            f"(statuses {burst['statuses']})")
        elif first > allowance:
            problems.append(f"{path}: the first 429 came at request {first}, after the allowance of {allowance}")
    if not result.get("paths"):
        raise MissingFact("rate_limit_burst", "no path to probe (WEB-01 rate_limited_paths is empty)", result)
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    if unevaluated:
        return Outcome(Status.ERROR, "could not evaluate: " + "; ".join(unevaluated), observed)
    summary = ", ".join(f"{path} 429 at request {outcome['burst']['first_429_at_request']}"
                        for path, outcome in result["paths"].items())
    return Outcome(Status.PASS, f"bursts met 429 within {allowance} requests, a steady rate did not ({summary})",
                   observed)


def evaluate_redirect(facts: Facts, params: Params) -> Outcome:
    result = fact_value(facts, "http_redirect")
    skipped = not_applicable_outcome(result)
    if skipped is not None:
        return skipped
    if result.get("connection") == "refused":
        return Outcome(Status.FAIL, f"{result.get('url')}: connection refused, plain HTTP is not redirected to "
                                    "HTTPS", result)
    status, location = result.get("status"), str(result.get("location") or "")
    if status in REDIRECT_STATUSES and location.lower().startswith("https://"):
        return Outcome(Status.PASS, f"{result.get('url')} answers {status} to {location}", result)
    return Outcome(Status.FAIL, f"{result.get('url')} answers {status} "
                                f"{'to ' + location if location else 'without a redirect'}, not a redirect to "
                                "HTTPS", result)


WEB_CHECKS: tuple[Check, ...] = (
    Check("web_rate_limit_burst_429", "WEB-01",
          "a burst to each login and API path meets 429 within the allowance; a slow steady rate does not",
          (), evaluate_rate_limit, ("rate_limit_burst",)),
    Check("http_redirects_to_https", "TLS-02", "plain HTTP is redirected to HTTPS", (), evaluate_redirect,
          ("http_redirect",)),
)
