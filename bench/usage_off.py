"""`python -m bench.usage_off serve ...`: `modelport serve` with no usage record per request, the baseline the
usage accounting's overhead is measured against (the `modelport-nousage` system).

`UsageTracker.begin` answers None, as it does for probes: no record, no observer, no ledger row, no metrics
or access-log line. Everything else (the ledger's task, `/metrics`) runs as in `modelport serve`. Only the
benchmark does this; the gateway itself has no such switch.
"""

from __future__ import annotations

from modelport.cli import main
from modelport.usage.tracker import UsageTracker


def _no_record(self: UsageTracker, *request: object) -> None:
    return None


if __name__ == "__main__":
    UsageTracker.begin = _no_record  # type: ignore[method-assign]
    main()
