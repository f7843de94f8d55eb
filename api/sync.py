"""Publishing a loaded rule set to the other worker processes of one server.

With ``--workers N`` each worker is a process with its own rule set. A reload reaches only the
worker that handled it, so that worker publishes the exact file texts it loaded to a snapshot file
in a directory all workers share (``serve`` makes one per run). Every request first compares the
snapshot file's identity (inode, mtime, size: one ``stat`` call) with the one it saw last; when
it changed, the worker compiles the published texts, which give the same revision, before it
answers. So after a reload returns, every worker answers with the new revision.

The file is replaced atomically (write a temporary file, then ``os.replace``), so a reader sees
the old snapshot or the new one, never a part.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

SNAPSHOT_FILE = "ruleset.json"

Stamp = tuple[int, int, int]


@dataclass(frozen=True)
class Snapshot:
    """The texts of a checked rule set, enough to rebuild it exactly (same revision)."""

    revision: str
    rule_files: dict[str, str]
    kb_files: dict[str, str]


class RevisionChannel:
    """A snapshot file shared by the workers of one server."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.path = Path(directory) / SNAPSHOT_FILE
        self._seen: Stamp | None = None

    def _stamp(self) -> Stamp | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def changed(self) -> bool:
        """Whether the snapshot file differs from the one last read (cheap: one ``stat``)."""
        return self._stamp() != self._seen

    def read(self) -> Snapshot | None:
        """The published snapshot, or None if there is none yet."""
        # remembered before parsing: a damaged or missing file is noticed once, not on every request
        self._seen = stamp = self._stamp()
        if stamp is None:
            return None
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None  # removed after the stat: the next stat notices
        doc = json.loads(text)
        return Snapshot(doc["revision"], doc["rule_files"], doc["kb_files"])

    def publish(self, snapshot: Snapshot) -> None:
        """Replace the snapshot atomically. The publisher reads it back like any other worker
        (it is then a no-op), so a snapshot published concurrently by a sibling is never missed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".ruleset-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"revision": snapshot.revision, "rule_files": snapshot.rule_files,
                           "kb_files": snapshot.kb_files}, f, ensure_ascii=False)
            os.replace(tmp, self.path)
        except BaseException:
            os.unlink(tmp)
            raise
