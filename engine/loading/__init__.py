"""Files in: reading rule and knowledge-base directories, safe YAML with positions, schema
validation with located errors, and the knowledge base built from its files."""

from rm_advisor.engine.loading.knowledge_base import load_knowledge_base, quotes_not_found
from rm_advisor.engine.loading.locations import Locator
from rm_advisor.engine.loading.sources import (
    DOCUMENTS_ENV,
    KB_PREFIX,
    SCENARIO_SUFFIX,
    default_kb_dir,
    default_rules_dir,
    is_arbitration_file,
    is_policy_file,
    read_documents,
    read_kb_files,
    read_rule_files,
    read_scenario_files,
    rule_file_paths,
)
from rm_advisor.engine.loading.validation import problem_count
from rm_advisor.engine.loading.yaml_source import ParsedYaml, parse_yaml, yaml_nodes

__all__ = [
    "DOCUMENTS_ENV",
    "KB_PREFIX",
    "SCENARIO_SUFFIX",
    "Locator",
    "ParsedYaml",
    "default_kb_dir",
    "default_rules_dir",
    "is_arbitration_file",
    "is_policy_file",
    "load_knowledge_base",
    "parse_yaml",
    "problem_count",
    "quotes_not_found",
    "read_documents",
    "read_kb_files",
    "read_rule_files",
    "read_scenario_files",
    "rule_file_paths",
    "yaml_nodes"
]
