"""Stored conversations: the item form kept, and the pages of `input_items`."""

from __future__ import annotations

import pytest

from modelport import errors
from modelport.protocols import openai_responses as rs
from modelport.translate.responses_openai import conversation_items, input_items_page, items_from_json


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
