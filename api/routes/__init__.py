"""One router per resource: decisions, rules, rule set, catalogues, health."""
