"""Contact policies (what the feedback history holds back), the ranking of recommended actions
(arbitration as data, propensities learned from the log) and the effectiveness of advice."""

from rm_advisor.engine.policies.arbitration import (
    Arbitration,
    PropensitySettings,
    arbitration_file_json_schema,
    check_arbitration_files,
)
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
from rm_advisor.engine.policies.propensity import build_table
from rm_advisor.engine.policies.ranking import rank

__all__ = [
    "Arbitration",
    "EffectivenessReport",
    "ItemRecord",
    "PolicySet",
    "PropensitySettings",
    "RateRow",
    "SettledCount",
    "Thresholds",
    "apply_policies",
    "arbitration_file_json_schema",
    "build_table",
    "check_arbitration_files",
    "check_policy_files",
    "effectiveness",
    "policy_file_json_schema",
    "rank",
    "settle",
    "settled_states",
]
