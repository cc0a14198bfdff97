"""The body of `PATCH /api/deployments/NAME`: some fields of a stored deployment, the rest kept."""

from __future__ import annotations

from pydantic import Field

from modelport.admin import limits
from modelport.admin.schemas import DeploymentIn
from modelport.records import DeploymentSpec, spec_to_dict


class DeploymentPatch(DeploymentIn):
    """Fields to change in a stored deployment: those given replace the stored ones, the others (its upstream
    key among them, which the API never shows back) stay. A nested object (`timeouts`) is replaced whole."""

    name: str | None = Field(default=None, min_length=1, max_length=limits.MAX_NAME,  # type: ignore[assignment]
                             description="Omit, or the deployment's own name (renaming is undeploy + deploy).")

    def apply(self, stored: DeploymentSpec) -> DeploymentSpec:
        """`stored` with the fields this patch gives."""
        merged = {**spec_to_dict(stored), **self.model_dump(exclude_unset=True, exclude={"name"})}
        return DeploymentIn.model_validate(merged).to_spec()
