"""The routing revision moves on every routing change, and only then."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from modelport import errors
from modelport.store import Store

from .factories import make_instance, make_spec


def test_each_kind_of_change_increases_it(store: Store) -> None:
    changes: list[Callable[[], object]] = [
        lambda: store.add_deployment(make_spec("chat")),
        lambda: store.update_deployment(make_spec("chat", replicas=2)),
        lambda: store.set_instance(make_instance("chat", 0)),
        lambda: store.set_instance(make_instance("chat", 1)),
        lambda: store.set_instance(make_instance("chat", 1, reason="again")),
        lambda: store.remove_instances("chat", keep=[0]),
        lambda: store.remove_deployment("chat"),
    ]
    seen = [store.routing_revision()]
    for change in changes:
        change()
        seen.append(store.routing_revision())
    assert all(later > earlier for earlier, later in itertools.pairwise(seen)), seen


def test_reads_do_not_change_it(store: Store) -> None:
    store.add_deployment(make_spec("chat"))
    store.set_instance(make_instance("chat", 0))
    before = store.routing_revision()
    store.get_deployment("chat")
    store.list_deployments()
    store.list_instances()
    store.list_instances("chat")
    store.list_keys()
    assert store.routing_revision() == before


def test_failed_or_empty_changes_do_not_change_it(store: Store) -> None:
    store.add_deployment(make_spec("chat"))
    before = store.routing_revision()
    with pytest.raises(errors.Conflict):
        store.add_deployment(make_spec("chat"))
    with pytest.raises(errors.NotFound):
        store.update_deployment(make_spec("missing"))
    assert store.remove_deployment("missing") is False
    store.remove_instances("chat")  # nothing to remove
    assert store.routing_revision() == before
