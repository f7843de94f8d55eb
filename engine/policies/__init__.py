"""Contact policies (what the feedback history holds back) and the effectiveness of advice."""

from rm_advisor.engine.policies.contact import PolicySet, apply_policies, check_policy_files, policy_file_json_schema
from rm_advisor.engine.policies.effectiveness import (
    EffectivenessReport,
    ItemRecord,
    RateRow,
    SettledCount,
    Thresholds,
    effectiveness,
    settle,
    settled_states,
)

__all__ = [
    "EffectivenessReport", "ItemRecord", "PolicySet", "RateRow", "SettledCount", "Thresholds", "apply_policies",
    "check_policy_files", "effectiveness", "policy_file_json_schema", "settle", "settled_states",
]
