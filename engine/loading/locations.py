"""Where rules, the parts of their conditions, and catalogue entries sit in their YAML files.

Checked rules keep only their file and first line; the authoring tools (coverage, why-not, the
graph) point at single conditions, so they map rule ids back to the parsed documents. The map is
built from the same file texts the rule book was loaded from; nothing here opens a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rm_advisor.engine.errors import Location
from rm_advisor.engine.loading.yaml_source import ParsedYaml, Path, parse_yaml

_CATALOGUES = ("signals", "actions", "coaching")


@dataclass
class Locator:
    """Locations of rules (and paths inside them) and of signal, action and coaching entries."""

    rules: dict[str, tuple[ParsedYaml, Path]] = field(default_factory=dict)
    entries: dict[tuple[str, str], tuple[ParsedYaml, Path]] = field(default_factory=dict)

    @classmethod
    def from_files(cls, rule_files: dict[str, str], kb_files: dict[str, str] | None = None) -> Locator:
        """Index rule files (name -> text) and, optionally, the knowledge-base files."""
        loc = cls()
        for name in sorted(rule_files):
            parsed = parse_yaml(rule_files[name], name)
            rules = parsed.data.get("rules") if isinstance(parsed.data, dict) else None
            for i, rule in enumerate(rules if isinstance(rules, list) else []):
                if isinstance(rule, dict) and isinstance(rule.get("id"), str):
                    loc.add_rule(rule["id"], parsed, ("rules", i))
        for name in sorted(kb_files or {}):
            parsed = parse_yaml((kb_files or {})[name], name)
            for kind in _CATALOGUES:
                items = parsed.data.get(kind) if isinstance(parsed.data, dict) else None
                for i, item in enumerate(items if isinstance(items, list) else []):
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        loc.entries.setdefault((kind, item["id"]), (parsed, (kind, i)))
        return loc

    def add_rule(self, rule_id: str, parsed: ParsedYaml, path: Path) -> None:
        self.rules.setdefault(rule_id, (parsed, path))

    def rule(self, rule_id: str, at: Path = ()) -> Location:
        """The location of ``at`` (e.g. ``("when", "all", 2)``) inside rule ``rule_id``."""
        found = self.rules.get(rule_id)
        if found is None:
            return Location(path=f"rule {rule_id}")
        parsed, path = found
        return parsed.locate(path + at)

    def entry(self, kind: str, entry_id: str) -> Location:
        """The location of a signal, action or coaching entry (``kind`` is the catalogue key)."""
        found = self.entries.get((kind, entry_id))
        if found is None:
            return Location(path=f"{kind} {entry_id}")
        parsed, path = found
        return parsed.locate((*path, "id"))
