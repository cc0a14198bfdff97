"""`python -m bench syscalls` reads strace's summary table and the load generators' request counts."""

from __future__ import annotations

import pytest
from bench.syscalls import _per_request, _requests

STRACE_TABLE = """% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 41.20    0.412000          20     20000           write
 30.00    0.300000          15     20000       120 read
  2.00    0.020000           1      5000           getpid
------ ----------- ----------- --------- --------- ----------------
100.00    1.000000          22     45000       120 total
"""


def test_calls_are_divided_by_the_requests_answered() -> None:
    calls = _per_request(STRACE_TABLE, 10_000)
    assert calls == {"write": 2.0, "read": 2.0, "getpid": 0.5, "total": 4.5}


def test_the_request_count_of_wrk_and_of_pyload() -> None:
    assert _requests("Running 6s test @ http://127.0.0.1:1/v1\n  41234 requests in 6.00s, 9.1MB read") == 41234
    assert _requests('{"requests": 812, "p50_ms": 1.2}') == 812
    with pytest.raises(RuntimeError, match="no request count"):
        _requests("connection refused")
