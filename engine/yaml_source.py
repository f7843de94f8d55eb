"""Safe YAML parsing that remembers where every value came from.

Rule files are loaded with PyYAML's safe loader only. Besides the data, parsing returns a map from
each value's path (a tuple of keys and list indexes) to its 1-based line and column, so that a
checker can point at the exact place of a problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from engine.errors import Diagnostic, Location

Path = tuple[str | int, ...]

# libyaml's safe loader when PyYAML has it (about ten times faster on the rule packs; every tool
# re-reads them), the pure-Python one otherwise. Both are safe loaders: no Python objects.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Most nodes a document may have once its aliases are expanded (the shipped files have < 5,000).
#: Aliases let a few lines stand for billions of nodes; every later step walks the expanded tree.
MAX_NODES = 100_000


@dataclass(frozen=True)
class ParsedYaml:
    """A parsed document: its data, where each path sits, and any problems found while parsing."""

    data: Any
    positions: dict[Path, tuple[int, int]]
    diagnostics: tuple[Diagnostic, ...]
    file: str

    def locate(self, loc: Path) -> Location:
        """The location of the deepest path prefix of ``loc`` that exists in the document.

        ``loc`` may contain extra elements (e.g. union tags added by a validator); elements that do
        not lead anywhere in the data are skipped.
        """
        best = self.positions.get((), (1, 1))
        node: Any = self.data
        path: Path = ()
        for part in loc:
            if isinstance(node, dict) and part in node:
                node, path = node[part], path + (part,)
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node, path = node[part], path + (part,)
            else:
                continue
            best = self.positions.get(path, best)
        return Location(self.file, best[0], best[1])


def parse_yaml(text: str, file: str, line_offset: int = 0) -> ParsedYaml:
    """Parse ``text`` safely. Syntax errors and duplicate keys become diagnostics, not exceptions.

    ``line_offset`` is added to every reported line (for a fragment cut from a larger file).
    """
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()  # one parse: positions from the nodes, data built from them
        size = _expanded_size(node, {}) if node is not None else 0
        if size > MAX_NODES:
            return _too_complex(file, f"the document expands to {size} nodes through aliases (at most {MAX_NODES})")
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        return _too_complex(file, "the document nests too deeply")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1 + line_offset, mark.column + 1) if mark else (0, 0)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        diag = Diagnostic("yaml_syntax", f"YAML syntax error: {problem}", Location(file, line, col),
                          hint="check indentation, colons and quotes on this line and the one above")
        return ParsedYaml(None, {}, (diag,), file)
    except yaml.YAMLError as exc:
        diag = Diagnostic("yaml_syntax", f"YAML error: {exc}", Location(file, 1, 1))
        return ParsedYaml(None, {}, (diag,), file)
    finally:
        loader.dispose()
    positions: dict[Path, tuple[int, int]] = {}
    diags: list[Diagnostic] = []
    if node is not None:
        _walk(node, (), positions, diags, file, line_offset)
    return ParsedYaml(data, positions, tuple(diags), file)


def _too_complex(file: str, message: str) -> ParsedYaml:
    diag = Diagnostic("yaml_too_complex", message, Location(file, 1, 1),
                      hint="write the values out instead of nesting aliases or brackets so deeply")
    return ParsedYaml(None, {}, (diag,), file)


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes in the tree once aliases are expanded; linear in the distinct nodes (memoised)."""
    key = id(node)
    if key not in memo:
        if isinstance(node, yaml.MappingNode):
            memo[key] = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            memo[key] = 1 + sum(_expanded_size(v, memo) for v in node.value)
        else:
            memo[key] = 1
    return memo[key]


def _walk(node: yaml.Node, path: Path, positions: dict[Path, tuple[int, int]],
          diags: list[Diagnostic], file: str, off: int) -> None:
    positions[path] = (node.start_mark.line + 1 + off, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            if key in seen:
                loc = Location(file, key_node.start_mark.line + 1 + off, key_node.start_mark.column + 1)
                diags.append(Diagnostic("duplicate_key", f"key `{key}` appears twice in one mapping",
                                        loc, hint="remove or rename one of them"))
            seen.add(key)
            _walk(value_node, path + (key,), positions, diags, file, off)
            # point at the key (`client.days_since_visit:`), not at its value
            positions[path + (key,)] = (key_node.start_mark.line + 1 + off, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), positions, diags, file, off)


_RULE_START = re.compile(r"^(\s*)- id\s*:")


def rule_fragments(text: str, file: str) -> list[ParsedYaml]:
    """After a syntax error, parse each rule of a rule file on its own so that the problems in
    the other rules are still reported. Each fragment is a one-rule document ``{rules: [...]}``
    whose lines point into the original file."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _RULE_START.match(line)]
    out = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        out.append(parse_yaml("rules:\n" + "".join(lines[start:end]), file, line_offset=start - 1))
    return out
