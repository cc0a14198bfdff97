"""The quota counter on both stores: sliding windows, reservations and settlement, budgets that renew at
the period boundary (an injected clock, not sleeps), concurrency leases, and exact admission when many
threads admit at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from modelport.quota.counter import QuotaCounter
from modelport.quota.engine import counter_engine
from modelport.quota.state import Refused, Ticket
from modelport.quota.transactions import literal
from modelport.records import ApiKey, Budget, BudgetPeriod, KeyLimits, Limits
from modelport.store import Store
from tests.quota.conftest import Clock, stored_key


def refusal(counter: QuotaCounter, key: ApiKey, tokens: int = 0, deployment: str = "") -> Refused:
    with pytest.raises(Refused) as caught:
        counter.admit(key, deployment, tokens)
    return caught.value


def admit(counter: QuotaCounter, key: ApiKey, tokens: int = 0, deployment: str = "") -> Ticket:
    ticket = counter.admit(key, deployment, tokens)
    assert ticket is not None
    return ticket


def test_requests_per_minute_slide_and_the_wait_is_exact(store: Store, clock: Clock) -> None:
    key = stored_key(store, KeyLimits(Limits(rpm=3)))
    counter = QuotaCounter(store.engine, clock)
    for _ in range(3):
        admit(counter, key)
        clock.advance(10)
    refused = refusal(counter, key)
    assert refused.reason == "requests" and refused.retry_after == pytest.approx(30)  # the first leaves at 60 s
    clock.advance(30)
    admit(counter, key)  # one left the window: one more fits, not a whole new minute's worth
    assert refusal(counter, key).retry_after == pytest.approx(10)


def test_tokens_are_reserved_then_settled_on_the_real_count(store: Store, clock: Clock) -> None:
    key = stored_key(store, KeyLimits(Limits(tpm=1000)))
    counter = QuotaCounter(store.engine, clock)
    first = admit(counter, key, 600)
    refused = refusal(counter, key, 500)  # 600 reserved + 500 > 1000, before the first one has ended
    assert refused.reason == "tokens" and refused.retry_after == pytest.approx(60)
    counter.settle(first, 100)  # it used less: the rest is returned
    second = admit(counter, key, 500)
    assert second.standings[0].tokens == 600
    assert refusal(counter, key, 2000).reason == "too_large" and refusal(counter, key, 2000).retry_after is None
    counter.settle(second, None)  # no count reported: the reservation stands
    assert counter.standings(key)[0].tokens == 600


def test_a_budget_refuses_what_does_not_fit_and_renews_at_the_month_boundary(store: Store, clock: Clock) -> None:
    key = stored_key(store, KeyLimits(Limits(budget=Budget(1000, BudgetPeriod.MONTH))))
    counter = QuotaCounter(store.engine, clock)
    ticket = admit(counter, key, 900)
    counter.settle(ticket, 700)
    refused = refusal(counter, key, 400)  # max_tokens larger than the 300 left
    assert refused.reason == "budget" and "700 of 1000" in refused.message
    renewal = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    assert refused.renews_at == renewal and refused.retry_after == pytest.approx(60)
    admit(counter, key, 300)
    clock.advance(60)  # 2026-12-01T00:00:00Z
    assert admit(counter, key, 1000).standings[0].budget_used == 1000
    assert counter.standings(key)[0].budget_renews_at == datetime(2027, 1, 1, tzinfo=UTC).timestamp()


def test_a_total_budget_never_renews_and_an_expired_one_refuses(store: Store, clock: Clock) -> None:
    total = stored_key(store, KeyLimits(Limits(budget=Budget(10, BudgetPeriod.TOTAL))), "k0000000000b")
    counter = QuotaCounter(store.engine, clock)
    admit(counter, total, 10)
    clock.advance(400 * 86400)
    refused = refusal(counter, total, 1)
    assert refused.retry_after is None and "does not renew" in refused.message
    expiry = datetime.fromtimestamp(clock.now + 5, UTC)
    ending = stored_key(store, KeyLimits(Limits(budget=Budget(10**6, BudgetPeriod.DAY, expiry))), "k0000000000c")
    admit(counter, ending, 1)
    clock.advance(5)
    assert "expired" in refusal(counter, ending, 1).message


def test_concurrency_slots_free_at_settlement_or_when_their_lease_lapses(store: Store, clock: Clock) -> None:
    key = stored_key(store, KeyLimits(Limits(concurrency=2)))
    counter = QuotaCounter(store.engine, clock, lease_seconds=30)
    first, second = admit(counter, key), admit(counter, key)
    assert refusal(counter, key).reason == "concurrency"
    counter.settle(first, 0)
    third = admit(counter, key)
    clock.advance(20)
    counter.renew([third.id])  # still running: its lease goes on; `second`'s gateway died and renews nothing
    clock.advance(15)
    admit(counter, key)
    assert refusal(counter, key).reason == "concurrency"
    assert second.held and counter.standings(key)[0].in_flight == 2


def test_deployment_limits_apply_beside_the_keys_own(store: Store, clock: Clock) -> None:
    limits = KeyLimits(Limits(rpm=5), (("small", Limits(rpm=1)),))
    key = stored_key(store, limits)
    counter = QuotaCounter(store.engine, clock)
    assert len(admit(counter, key, deployment="small").standings) == 2
    assert "`small`" in refusal(counter, key, deployment="small").message
    for _ in range(4):
        admit(counter, key, deployment="big")
    assert refusal(counter, key, deployment="big").reason == "requests"
    assert [s.deployment for s in counter.standings(key)] == ["", "small"]


def test_a_key_without_limits_is_not_counted(store: Store, clock: Clock) -> None:
    key = stored_key(store, KeyLimits())
    assert QuotaCounter(store.engine, clock).admit(key, "", 10**9) is None


def test_one_hundred_concurrent_admissions_against_a_limit_of_ten_admit_exactly_ten(store: Store) -> None:
    key = stored_key(store, KeyLimits(Limits(rpm=10, tpm=10**6, concurrency=50)))
    counters = [QuotaCounter(counter_engine(store.url)), QuotaCounter(counter_engine(store.url))]  # two gateways

    def attempt(index: int) -> bool:
        try:
            return counters[index % 2].admit(key, "", 7) is not None
        except Refused:
            return False

    try:
        with ThreadPoolExecutor(32) as pool:
            admitted = list(pool.map(attempt, range(100)))
    finally:
        for counter in counters:
            counter.close()
    assert sum(admitted) == 10
    assert QuotaCounter(store.engine).standings(key)[0].requests == 10


def test_names_reach_the_store_as_they_are_whatever_they_hold(store: Store, clock: Clock) -> None:
    odd = "o'brien\\'); DELETE FROM quota_windows; --"  # quotes and a backslash, as literals on PostgreSQL
    key = stored_key(store, KeyLimits(Limits(), ((odd, Limits(rpm=1, concurrency=5)),)))
    counter = QuotaCounter(counter_engine(store.url), clock)
    try:
        ticket = admit(counter, key, deployment=odd)
        assert refusal(counter, key, deployment=odd).reason == "requests"
        counter.settle(ticket, 0)
        (standing,) = counter.standings(key)
        assert (standing.deployment, standing.requests, standing.in_flight) == (odd, 1, 0)
    finally:
        counter.close()


@pytest.mark.parametrize("value", ["a\x00b", float("inf"), float("nan"), True, None, b"bytes"])
def test_only_plain_values_become_postgres_literals(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        literal(value)
    assert literal("it's") == "E'it''s'" and literal(3) == "3" and literal(1.5) == "1.5"
    assert literal("a\\'b") == "E'a\\\\''b'"  # the backslash and the quote both doubled
