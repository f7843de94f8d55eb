"""The rule set a server answers with, and its hot reload.

A reload reads the rule and knowledge-base files, checks and compiles them completely, and only
then swaps one reference. A request takes that reference once, at its start, and finishes on it,
so a reload never changes an answer half-way; a rule set with any error is refused and the
previous one keeps serving. Worker processes of one server follow each other's reloads through a
:class:`~api.sync.RevisionChannel`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from rm_advisor.api import collector
from rm_advisor.api.problems import ErrorItem, Problem
from rm_advisor.api.settings import Settings
from rm_advisor.api.sync import RevisionChannel, Snapshot
from rm_advisor.engine import Advisor
from rm_advisor.engine.errors import RuleError
from rm_advisor.engine.inference import Engine, RuleBook, load_rule_book
from rm_advisor.engine.loading import (
    KB_PREFIX,
    default_kb_dir,
    default_rules_dir,
    is_arbitration_file,
    is_policy_file,
    read_kb_files,
    read_rule_files,
)
from rm_advisor.engine.messages import N_

log = logging.getLogger("rm_advisor.api")


@dataclass(frozen=True)
class LoadedRuleSet:
    """A compiled rule set with the file texts it came from and when this process loaded it."""

    advisor: Advisor
    rule_files: dict[str, str]
    kb_files: dict[str, str]
    loaded_at: dt.datetime

    @property
    def revision(self) -> str:
        return self.advisor.revision

    @property
    def book(self) -> RuleBook:
        return self.advisor.book

    def snapshot(self) -> Snapshot:
        return Snapshot(self.revision, self.rule_files, self.kb_files)


def build(rule_files: dict[str, str], kb_files: dict[str, str], max_firings: int,
          engine: Engine = "compiled") -> LoadedRuleSet:
    """Check and compile; raises :class:`rm_advisor.engine.RuleError` with every problem."""
    book = load_rule_book(rule_files, kb_files)
    return LoadedRuleSet(Advisor(book, max_firings, engine=engine), dict(rule_files), dict(kb_files),
                         dt.datetime.now(dt.UTC))


def read_files(rules_dir: Path | None, kb_dir: Path | None) -> tuple[dict[str, str], dict[str, str]]:
    """The rule and knowledge-base texts on disk, named relative to their folders (rule files as
    ``tobacco.yaml``, knowledge-base files as ``knowledge_base/facts.yaml``): answers never show
    where the server keeps its files. An unreadable file is a located problem."""
    rules = Path(rules_dir or default_rules_dir())
    kb = Path(kb_dir or default_kb_dir())
    try:
        return read_rule_files(rules, relative=True), read_kb_files(kb, relative=True)
    except RuleError as exc:  # files that are not UTF-8 (file_not_utf8), each located
        items = [ErrorItem(code="rules_unreadable", detail=d.message,
                           file=_shown(Path(d.location.file).resolve(), rules.resolve(), kb.resolve()),
                           line=d.location.line or None, column=d.location.column or None, hint=d.hint)
                 for d in exc.diagnostics]
        raise Problem("rules_unreadable", N_("cannot read {file}: {reason}"), items,
                      fields={"file": items[0].file, "reason": items[0].detail}) from None
    except (OSError, UnicodeDecodeError) as exc:
        found = getattr(exc, "filename", None)
        where = _shown(Path(found), rules, kb) if found else _undecodable(rules, kb) or "the rule directory"
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
            str(exc) if isinstance(exc, UnicodeDecodeError) else type(exc).__name__
        raise Problem("rules_unreadable", N_("cannot read {file}: {reason}"), fields={"file": where, "reason": reason},
                      errors=[ErrorItem(code="rules_unreadable", detail=reason, file=where,
                                        hint="rule and knowledge-base files are UTF-8 text the server may read")]
                      ) from exc


def _shown(path: Path, rules: Path, kb: Path) -> str:
    """A path as answers name it: relative to the rule directory (or, with the prefix, to the
    knowledge-base folder); a path elsewhere by its file name only."""
    for root, prefix in ((rules, ""), (kb, KB_PREFIX)):
        try:
            return prefix + (path.name if path == root else path.relative_to(root).as_posix())
        except ValueError:
            continue
    return path.name


def _undecodable(rules: Path, kb: Path) -> str | None:
    """The first YAML file that is not UTF-8 (a decode error does not name its file)."""
    for folder in (rules, kb):
        for path in sorted(folder.rglob("*.yaml")) if folder.is_dir() else [folder]:
            try:
                path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                return _shown(path, rules, kb)
    return None


def removed_packs(previous: LoadedRuleSet, rule_files: dict[str, str]) -> list[str]:
    """The rule files (packs and contact policies) of ``previous`` that ``rule_files`` lacks."""
    return sorted(set(previous.rule_files) - set(rule_files))


def _packs_removed(previous: LoadedRuleSet, removed: list[str]) -> Problem:
    def what(name: str) -> str:
        if is_policy_file(name):
            return "its contact policies would no longer apply"
        if is_arbitration_file(name):
            return "its ranking would no longer apply (recommendations ranked by score)"
        count = sum(1 for r in previous.book.rules if r.file == name)
        return f"its {count} rule(s) would be gone"

    return Problem("packs_removed", N_("{count} rule file(s) serving now are gone from disk: {files}; the previous "
                                       "rule set keeps serving. Restore them, or reload with ?allow_removed_packs=true "
                                       "to remove them"), fields={"count": len(removed), "files": ", ".join(removed)},
                   errors=[ErrorItem(code="pack_removed", file=name, detail=f"`{name}` is gone: {what(name)}",
                                     hint="restore the file, or confirm with allow_removed_packs=true")
                           for name in removed])


class LiveRuleSet:
    """The current :class:`LoadedRuleSet` of this process; reloads swap it atomically."""

    def __init__(self, initial: LoadedRuleSet, rules_dir: Path | None = None, kb_dir: Path | None = None,
                 max_firings: int = 10_000, channel: RevisionChannel | None = None, engine: Engine = "compiled",
                 freeze_gc: bool = False):
        self._loaded = initial
        self.rules_dir, self.kb_dir, self.max_firings, self.engine = rules_dir, kb_dir, max_firings, engine
        self._channel = channel
        self._lock = threading.Lock()  # one reload (or follow) at a time per process
        # with freeze_gc: a rule set swapped in since the last settle (the previous one is collected,
        # the new one frozen, on the next request: the reload's own answer may still hold the previous)
        self.freeze_gc = freeze_gc
        self._unsettled = False

    @classmethod
    def start(cls, settings: Settings) -> LiveRuleSet:
        """Load the rule set a server starts with: the one its sibling workers published, if any,
        else the files on disk (then published for the siblings)."""
        channel = RevisionChannel(settings.sync_dir) if settings.sync_dir else None
        snapshot = channel.read() if channel else None
        if snapshot is not None:
            loaded = build(snapshot.rule_files, snapshot.kb_files, settings.max_firings, settings.engine)
        else:
            loaded = build(*read_files(settings.rules_dir, settings.kb_dir), settings.max_firings, settings.engine)
            if channel is not None:
                channel.publish(loaded.snapshot())
        return cls(loaded, settings.rules_dir, settings.kb_dir, settings.max_firings, channel, settings.engine,
                   settings.freeze_gc)

    @property
    def revision(self) -> str:
        """The revision serving now (without looking for a sibling's reload)."""
        return self._loaded.revision

    def current(self) -> LoadedRuleSet:
        """The rule set a request should use; follows a sibling worker's reload first."""
        if self._channel is not None and self._channel.changed():
            self._follow(self._channel)
        if self._unsettled:
            self.settle()
        return self._loaded

    def settle(self) -> None:
        """With ``freeze_gc``: collect what is garbage (a rule set no longer served) and keep the
        collector off everything alive now (:mod:`api.collector`); a server calls it once started."""
        self._unsettled = False
        if not self.freeze_gc:
            return
        with self._lock:
            collector.settle()

    def reload(self, allow_removed_packs: bool = False) -> tuple[LoadedRuleSet, LoadedRuleSet]:
        """Load the files on disk again; return (previous, current).

        Raises :class:`rm_advisor.engine.RuleError` (the previous rule set keeps serving), a
        ``rules_unreadable`` problem, or a ``packs_removed`` problem when a rule file that is
        serving is gone from disk and ``allow_removed_packs`` is not given (a deleted pack takes
        all its rules with it: that must be meant). An unchanged revision keeps the loaded rule
        set and its warm inference engines.
        """
        with self._lock:
            previous = self._loaded
            rule_files, kb_files = read_files(self.rules_dir, self.kb_dir)
            removed = removed_packs(previous, rule_files)
            if removed and not allow_removed_packs:
                raise _packs_removed(previous, removed)
            loaded = build(rule_files, kb_files, self.max_firings, self.engine)
            if loaded.revision == previous.revision:
                return previous, previous
            self._loaded, self._unsettled = loaded, True
            if self._channel is not None:
                self._channel.publish(loaded.snapshot())
            log.info("rule set reloaded: %s -> %s (pid %d)", previous.revision, loaded.revision, os.getpid())
            return previous, loaded

    def prepare(self, rule_files: dict[str, str], revision: str | None = None) -> LoadedRuleSet:
        """Check and compile ``rule_files`` (a rule release) with the serving knowledge base, without
        serving them yet (:meth:`swap` does). ``revision``, when given, is the revision the files
        must have: a ``release_stale`` problem when the knowledge base changed since the release
        was proposed. Raises :class:`rm_advisor.engine.RuleError` when they do not check."""
        loaded = build(rule_files, self._loaded.kb_files, self.max_firings, self.engine)
        if revision is not None and loaded.revision != revision:
            raise Problem("release_stale", N_("the release was proposed as revision {expected}; with the "
                                              "knowledge base serving now it is {actual}: propose it again"),
                          fields={"expected": revision, "actual": loaded.revision})
        return loaded

    def swap(self, loaded: LoadedRuleSet) -> tuple[LoadedRuleSet, LoadedRuleSet]:
        """Serve ``loaded`` (from :meth:`prepare`) from the next request on, in every worker
        process; return (previous, current) as :meth:`reload` does."""
        with self._lock:
            previous = self._loaded
            if loaded.revision == previous.revision:
                return previous, previous
            self._loaded, self._unsettled = loaded, True
            if self._channel is not None:
                self._channel.publish(loaded.snapshot())
            log.info("rule release installed: %s -> %s (pid %d)", previous.revision, loaded.revision, os.getpid())
            return previous, loaded

    def _follow(self, channel: RevisionChannel) -> None:
        with self._lock:
            if not channel.changed():
                return  # another thread followed while this one waited
            try:
                snapshot = channel.read()
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("cannot read the published rule set %s: %s", channel.path, exc)
                return
            if snapshot is None or snapshot.revision == self._loaded.revision:
                return
            try:
                self._loaded = build(snapshot.rule_files, snapshot.kb_files, self.max_firings, self.engine)
                self._unsettled = True
            except RuleError as exc:  # only checked rule sets are published; keep serving regardless
                log.error("published rule set %s does not load: %s", snapshot.revision, exc)
                return
            log.info("rule set %s followed from a sibling worker (pid %d)", snapshot.revision, os.getpid())
