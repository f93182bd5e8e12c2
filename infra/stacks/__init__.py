"""CDK constructs generated from `infra.topology.TOPOLOGY`."""

from infra.stacks.assets import SourceLayout
from infra.stacks.loyalty_stack import LoyaltyStack
from infra.stacks.settings import EnvironmentSettings, settings_for

__all__ = ["EnvironmentSettings", "LoyaltyStack", "SourceLayout", "settings_for"]
