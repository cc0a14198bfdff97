"""Stored conversations: the item form kept, and the pages of `input_items`."""

from __future__ import annotations

import pytest

from modelport import errors
from modelport.protocols import openai_responses as rs
from modelport.translate.responses_openai import (
    conversation_items,
    input_items_page,
    items_from_json,
    new_turn,
    referenced_responses,
    resolve_references,
)


def test_items_get_ids_status_and_list_content_and_read_back() -> None:
    items = conversation_items([rs.Message(role="user", content="hi"), rs.Message(role="assistant", content="yo"),
                                rs.FunctionCall(call_id="c1", name="f", arguments="{}", id="fc_given"),
                                rs.FunctionCallOutput(call_id="c1", output="r")])
    assert [item["id"][:3] for item in items] == ["msg", "msg", "fc_", "fco"]
    assert items[2]["id"] == "fc_given" and all(item["status"] == "completed" for item in items)
    assert items[0]["content"] == [{"type": "input_text", "text": "hi"}]
    assert items[1]["content"] == [{"type": "output_text", "text": "yo", "annotations": []}]
    again = items_from_json(items)
    assert conversation_items(again) == items


def test_pages_in_both_orders_with_a_cursor() -> None:
    items = [{"id": f"i{n}", "type": "message"} for n in range(5)]
    first = input_items_page(items, limit=2)
    assert [i["id"] for i in first["data"]] == ["i4", "i3"] and first["has_more"] is True
    assert (first["first_id"], first["last_id"]) == ("i4", "i3")
    rest = input_items_page(items, limit=10, after="i3")
    assert [i["id"] for i in rest["data"]] == ["i2", "i1", "i0"] and rest["has_more"] is False
    assert [i["id"] for i in input_items_page(items, order="asc", limit=3)["data"]] == ["i0", "i1", "i2"]
    empty = input_items_page([], limit=5)
    assert empty == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


@pytest.mark.parametrize(("order", "limit", "after", "param"), [("up", 20, None, "order"), ("asc", 0, None, "limit"),
                                                                ("asc", 101, None, "limit"), ("asc", 5, "nope", "after")])
def test_bad_page_requests(order: str, limit: int, after: str | None, param: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        input_items_page([{"id": "a"}], order=order, limit=limit, after=after)
    assert caught.value.param == param


def test_item_references_resolve_to_stored_output_items() -> None:
    turn = new_turn(rs.ResponsesRequest(model="m", input="x"), "m")
    call = {"id": turn.item_id("fc", 1), "type": "function_call", "status": "completed", "arguments": "{}",
            "call_id": "call_1", "name": "f"}
    outputs = {turn.id: [{"id": turn.item_id("msg", 0), "type": "message"}, call]}
    items: list[rs.InputItem] = [rs.Message(role="user", content="hi"), rs.ItemReference(id=call["id"])]
    assert referenced_responses(items) == {turn.id}
    resolved = resolve_references(items, outputs)
    assert resolved[0] == items[0]
    assert resolved[1] == rs.FunctionCall(call_id="call_1", name="f", arguments="{}", id=call["id"], status="completed")


@pytest.mark.parametrize("item_id", ["msg_nothing", "msg_a_b", "fc_abc_1", "fc_abc_7"])
def test_a_reference_to_nothing_we_have_is_a_400(item_id: str) -> None:
    turn_id = "resp_abc"
    outputs = {turn_id: [{"id": "fc_abc_0"}, {"id": "fc_other_1"}]}
    with pytest.raises(errors.BadRequest) as caught:
        items = [rs.ItemReference(id=item_id)]
        referenced_responses(items)
        resolve_references(items, outputs)
    assert caught.value.param == "input.0.id"


def test_references_to_too_many_responses_are_refused() -> None:
    items = [rs.ItemReference(id=f"msg_r{n}_0") for n in range(101)]
    with pytest.raises(errors.BadRequest, match="at most 100"):
        referenced_responses(items)
