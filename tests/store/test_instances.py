"""Instances: upsert by (deployment, ordinal), list in order, remove all but some."""

from __future__ import annotations

from modelport.records import InstanceState
from modelport.store import Store

from .factories import at, make_instance, make_spec


def test_set_then_list_round_trips(store: Store) -> None:
    store.add_deployment(make_spec("chat"))
    record = make_instance("chat", 0, pid=4242, reason="loading weights", updated_at=at(3))
    store.set_instance(record)
    assert store.list_instances() == [record]
    assert store.list_instances("chat") == [record]


def test_set_upserts(store: Store) -> None:
    store.add_deployment(make_spec("chat"))
    store.set_instance(make_instance("chat", 0, pid=1))
    ready = make_instance(
        "chat", 0, state=InstanceState.READY, url="http://h:1/v1", pid=None, updated_at=at(9)
    )
    store.set_instance(ready)
    assert store.list_instances("chat") == [ready]


def test_set_for_a_missing_deployment_is_ignored(store: Store) -> None:
    before = store.routing_revision()
    store.set_instance(make_instance("gone", 0))
    assert store.list_instances() == []
    assert store.routing_revision() == before


def test_list_is_ordered_and_filterable(store: Store) -> None:
    for name in ["embed", "chat"]:
        store.add_deployment(make_spec(name))
    for name, ordinal in [("embed", 1), ("chat", 2), ("embed", 0), ("chat", 10), ("chat", 0)]:
        store.set_instance(make_instance(name, ordinal))
    listed = [(i.deployment, i.ordinal) for i in store.list_instances()]
    assert listed == [("chat", 0), ("chat", 2), ("chat", 10), ("embed", 0), ("embed", 1)]
    assert [i.ordinal for i in store.list_instances("embed")] == [0, 1]
    assert store.list_instances("nothing") == []


def test_remove_instances_keeps_the_given_ordinals(store: Store) -> None:
    for name in ["chat", "embed"]:
        store.add_deployment(make_spec(name))
        for ordinal in range(4):
            store.set_instance(make_instance(name, ordinal))
    store.remove_instances("chat", keep=iter([0, 2]))
    assert [i.ordinal for i in store.list_instances("chat")] == [0, 2]
    assert [i.ordinal for i in store.list_instances("embed")] == [0, 1, 2, 3]
    store.remove_instances("chat")
    assert store.list_instances("chat") == []
    assert len(store.list_instances("embed")) == 4


def test_every_state_round_trips(store: Store) -> None:
    store.add_deployment(make_spec("chat"))
    for ordinal, state in enumerate(InstanceState):
        store.set_instance(make_instance("chat", ordinal, state=state))
    assert [i.state for i in store.list_instances("chat")] == list(InstanceState)
