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

from rm_advisor.engine.errors import Diagnostic, Location

Path = tuple[str | int, ...]

# libyaml's safe loader when PyYAML has it (about ten times faster on the rule packs; every tool
# re-reads them), the pure-Python one otherwise. Both are safe loaders: no Python objects.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Most nodes a document may have once its aliases are expanded (the shipped files have < 5,000).
#: Aliases let a few lines stand for billions of nodes; every later step walks the expanded tree.
MAX_NODES = 100_000
#: Deepest nesting of mappings and sequences a document may have (the shipped files nest < 15 deep).
MAX_DEPTH = 100


@dataclass(frozen=True)
class ParsedYaml:
    """A parsed document: its data, where each path sits, and any problems found while parsing."""

    data: Any
    positions: dict[Path, tuple[int, int]]
    diagnostics: tuple[Diagnostic, ...]
    file: str

    @property
    def unreadable(self) -> bool:
        """Not YAML at all: its syntax error says so, and validating nothing against a format
        ("not a mapping at 1:1") would only add noise."""
        return self.data is None and bool(self.diagnostics)

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
                node, path = node[part], (*path, part)
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node, path = node[part], (*path, part)
            else:
                continue
            best = self.positions.get(path, best)
        return Location(self.file, best[0], best[1])


def parse_yaml(text: str, file: str, line_offset: int = 0) -> ParsedYaml:
    """Parse ``text`` safely. Syntax errors and duplicate keys become diagnostics, not exceptions.

    ``line_offset`` is added to every reported line (for a fragment cut from a larger file).
    Documents nested deeper than :data:`MAX_DEPTH` or expanding to more than :data:`MAX_NODES`
    nodes are ``yaml_too_complex``, whatever limits and messages the YAML library has of its own.
    """
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()  # one parse: positions from the nodes, data built from them
        positions: dict[Path, tuple[int, int]] = {}
        diags: list[Diagnostic] = []
        if node is None:
            return ParsedYaml(None, positions, (), file)
        try:
            data = _Reader(loader, positions, diags, file, line_offset).read(node, (), 0)
        except _Fallback:  # a document the fast reader leaves to the library (or one over a limit)
            positions.clear()
            diags.clear()
            height, size = _shape(node)
            if height > MAX_DEPTH:
                return _too_deep(file, _deepest_start(node, height), line_offset)
            if size > MAX_NODES:
                return _too_complex(file, f"the document expands to {size} nodes through aliases "
                                          f"(at most {MAX_NODES})", Location(file, 1, 1))
            data = loader.construct_document(node)
            _walk(node, (), positions, diags, file, line_offset)
    except yaml.MarkedYAMLError as exc:
        # The library's parser may stop at a limit of its own (libyaml at 1,000 levels of brackets);
        # the project's own limit decides: a depth-limited parse tells a deep document from a broken one.
        deep = _too_deep_mark(text)
        if deep is not None:
            return _too_deep(file, deep, line_offset)
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1 + line_offset, mark.column + 1) if mark else (0, 0)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        diag = Diagnostic("yaml_syntax", f"YAML syntax error: {problem}", Location(file, line, col),
                          hint="check indentation, colons and quotes on this line and the one above")
        return ParsedYaml(None, {}, (diag,), file)
    except yaml.YAMLError as exc:
        diag = Diagnostic("yaml_syntax", f"YAML error: {exc}", Location(file, 1, 1))
        return ParsedYaml(None, {}, (diag,), file)
    except RecursionError:  # not reached within MAX_DEPTH; kept so that no input can escape as a crash
        return _too_complex(file, "the document nests too deeply", Location(file, 1, 1))
    finally:
        loader.dispose()
    return ParsedYaml(data, positions, tuple(diags), file)


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
#: scalar tags whose library constructor the fast reader calls (each returns the value itself)
_SCALARS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "timestamp", "binary"))


class _Fallback(Exception):
    """The fast reader stops: the library's constructor (and the limit checks) take the document."""


class _Reader:
    """Data, positions and duplicate keys in one walk over the composed nodes.

    What the library's safe constructor would build, for the documents rule and knowledge-base
    files are (plain mappings, sequences and scalars): each scalar goes through the constructor the
    library has for its tag. Anything else — merge keys, ``!!set`` and other collection tags,
    unknown tags, keys that are not scalars — and any document over :data:`MAX_DEPTH` or
    :data:`MAX_NODES` raises :class:`_Fallback`, and the slower path (the library's constructor
    after the limit checks) decides, with its own errors. Three times faster on the rule packs."""

    def __init__(self, loader: Any, positions: dict[Path, tuple[int, int]], diags: list[Diagnostic],
                 file: str, off: int):
        self.loader = loader
        self.positions = positions
        self.diags = diags
        self.file = file
        self.off = off
        self.count = 0
        self.scalars = loader.yaml_constructors

    def read(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _Fallback
        mark = node.start_mark
        self.positions[path] = (mark.line + 1 + self.off, mark.column + 1)
        tag = node.tag
        if isinstance(node, yaml.ScalarNode):
            if tag == _STR:
                return node.value
            if tag not in _SCALARS:
                raise _Fallback
            return self.scalars[tag](self.loader, node)
        if depth >= MAX_DEPTH:
            raise _Fallback
        if isinstance(node, yaml.SequenceNode):
            if tag != _SEQ:
                raise _Fallback
            return [self.read(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if tag != _MAP or not isinstance(node, yaml.MappingNode):
            raise _Fallback
        out: dict[Any, Any] = {}
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                raise _Fallback
            self.count += 1
            name = key_node.value
            if name in seen:
                loc = Location(self.file, key_node.start_mark.line + 1 + self.off, key_node.start_mark.column + 1)
                self.diags.append(Diagnostic("duplicate_key", f"key `{name}` appears twice in one mapping",
                                             loc, hint="remove or rename one of them"))
            seen.add(name)
            key = name if key_node.tag == _STR else self.read_key(key_node)
            at = (*path, name)
            out[key] = self.read(value_node, at, depth + 1)
            # point at the key (`client.days_since_visit:`), not at its value
            self.positions[at] = (key_node.start_mark.line + 1 + self.off, key_node.start_mark.column + 1)
        return out

    def read_key(self, node: yaml.ScalarNode) -> Any:
        if node.tag not in _SCALARS:
            raise _Fallback
        key = self.scalars[node.tag](self.loader, node)
        try:
            hash(key)
        except TypeError:
            raise _Fallback from None
        return key


def _too_complex(file: str, message: str, where: Location) -> ParsedYaml:
    diag = Diagnostic("yaml_too_complex", message, where,
                      hint="write the values out instead of nesting aliases or brackets so deeply")
    return ParsedYaml(None, {}, (diag,), file)


def _too_deep(file: str, mark: yaml.Mark, line_offset: int) -> ParsedYaml:
    return _too_complex(file, f"the document nests more than {MAX_DEPTH} levels deep",
                        Location(file, mark.line + 1 + line_offset, mark.column + 1))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _shape(root: yaml.Node) -> tuple[int, int]:
    """(nesting height in collections, node count) of the tree once aliases are expanded.

    Iterative and memoised per distinct node, so it is linear in the document and safe at any depth
    the parser accepted."""
    memo: dict[int, tuple[int, int]] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in memo:
            continue
        kids = _children(node)
        if children_done or not kids:
            shapes = [memo[id(k)] for k in kids]
            collection = isinstance(node, yaml.CollectionNode)
            memo[id(node)] = (int(collection) + max((h for h, _ in shapes), default=0),
                              1 + sum(n for _, n in shapes))
        else:
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in memo)
    return memo[id(root)]


def _deepest_start(root: yaml.Node, height: int) -> yaml.Mark:
    """Where the first collection nested deeper than :data:`MAX_DEPTH` starts."""
    node = root
    for _ in range(MAX_DEPTH):
        node = next(k for k in _children(node) if _shape(k)[0] == height - 1)
        height -= 1
    return node.start_mark


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark):
        super().__init__("too deep")
        self.mark = mark


class _DepthLimitedLoader(yaml.SafeLoader):
    """PyYAML's pure-Python safe loader that stops at the first collection deeper than MAX_DEPTH."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        collection = self.check_event(yaml.CollectionStartEvent)
        self._depth += collection
        try:
            if self._depth > MAX_DEPTH:
                # types-PyYAML leaves Parser.peek_event unannotated (the C parser's stub has it typed)
                raise _TooDeep(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= collection


def _too_deep_mark(text: str) -> yaml.Mark | None:
    """Where ``text`` first nests deeper than :data:`MAX_DEPTH`, or None (then it is not too deep)."""
    loader = _DepthLimitedLoader(text)
    try:
        loader.get_single_node()
    except _TooDeep as deep:
        return deep.mark
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()
    return None


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
            _walk(value_node, (*path, key), positions, diags, file, off)
            # point at the key (`client.days_since_visit:`), not at its value
            positions[(*path, key)] = (key_node.start_mark.line + 1 + off, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), positions, diags, file, off)


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


def yaml_nodes(text: str, stop_after: int) -> int:
    """How many nodes ``text`` holds once its aliases are expanded (what a check walks), counted
    from the YAML parser's events without building anything; counting stops once it passes
    ``stop_after`` (the answer is then some number above it). Text that does not parse counts
    up to its first syntax error. Costs about a microsecond per event: a cheap bound on what
    checking the text would cost, taken before checking it."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    anchored: dict[str, int] = {}
    open_sizes: list[list[Any]] = []  # [expanded size so far, anchor] of each open collection
    total = 0
    try:
        while total <= stop_after and loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                open_sizes.append([1, event.anchor])
                total += 1
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                size, anchor = open_sizes.pop()
            elif isinstance(event, yaml.AliasEvent):
                size, anchor = anchored.get(event.anchor or "", 1), None
                total += size
            elif isinstance(event, yaml.ScalarEvent):
                size, anchor = 1, event.anchor
                total += 1
            else:
                continue  # stream and document events
            if anchor:
                anchored[anchor] = size
            if open_sizes:
                open_sizes[-1][0] += size
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return total
