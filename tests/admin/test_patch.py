"""`PATCH /api/deployments/NAME`'s body: the fields it gives replace the stored ones, the rest stay."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from modelport.admin.patch import DeploymentPatch
from modelport.records import Category, DeploymentSpec, Timeouts

STORED = DeploymentSpec(name="chat", urls=("http://10.0.0.5:8000/v1",), upstream_key="sk-secret",
                        upstream_model="served", aliases=("gpt-4o",), timeouts=Timeouts(first_byte=30.0))


def test_the_given_fields_replace_the_stored_ones_and_the_rest_stay() -> None:
    patched = DeploymentPatch.model_validate({"aliases": ["gpt-4o", "gpt-4o-mini"]}).apply(STORED)
    assert patched.aliases == ("gpt-4o", "gpt-4o-mini")
    assert patched.upstream_key == "sk-secret" and patched.upstream_model == "served"  # never sent back, kept
    assert patched.urls == STORED.urls and patched.timeouts == STORED.timeouts and patched.category is Category.LLM


def test_null_clears_a_nullable_field_and_a_nested_object_is_replaced_whole() -> None:
    patched = DeploymentPatch.model_validate({"upstream_key": None, "timeouts": {"idle": 5}}).apply(STORED)
    assert patched.upstream_key is None
    assert patched.timeouts == Timeouts(idle=5.0)  # first_byte back to its default


def test_an_empty_patch_changes_nothing() -> None:
    assert DeploymentPatch.model_validate({}).apply(STORED) == STORED


@pytest.mark.parametrize("body", [{"replicas": 0}, {"replicas": None}, {"urls": "http://x"}, {"aliases": ["a"] * 65}])
def test_bad_fields_are_refused_like_a_deploy(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DeploymentPatch.model_validate(body)
