"""Reading rule and knowledge-base files from disk: the I/O edge the loader is given."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

SCENARIO_SUFFIX = ".scenarios.yaml"
#: Contact policies live beside the rules (``rules/contact.policies.yaml``); they are read with the
#: rule files, so they count in the revision and in ``rm-advisor check``, and the loader tells them apart.
POLICY_SUFFIX = ".policies.yaml"
#: How :func:`read_kb_files` names knowledge-base files relative to their folder.
KB_PREFIX = "knowledge_base/"


def is_policy_file(name: str) -> bool:
    return name.endswith(POLICY_SUFFIX)


def default_rules_dir() -> Path:
    """The rule packs shipped with the package."""
    return Path(str(resources.files("rm_advisor.rules")))


def default_kb_dir() -> Path:
    """The knowledge base shipped with the package."""
    return Path(str(resources.files("rm_advisor.knowledge_base")))


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
        return rel if not rel.startswith("..") else str(path)
    except ValueError:  # different drive
        return str(path)


def _relative(path: Path, root: Path) -> str:
    """``path`` relative to the folder read (``tobacco.yaml``, ``signals/client.yaml``); a file
    read on its own is named by its name."""
    return path.name if path == root else path.relative_to(root).as_posix()


def read_rule_files(target: str | os.PathLike[str], relative: bool = False) -> dict[str, str]:
    """Rule files under a directory (or one file): ``*.yaml`` except scenario files; contact-policy
    files (``*.policies.yaml``) are included and told apart by the loader.

    Files are named as a command line shows them (relative to the working directory when they
    are under it), or with ``relative`` relative to ``target``: what a server shows its clients,
    which need not know where its files are."""
    root = Path(target)
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*.yaml")
                                                 if not p.name.endswith(SCENARIO_SUFFIX))
    return {(_relative(p, root) if relative else _display(p)): p.read_text(encoding="utf-8") for p in paths}


def read_scenario_files(target: str | os.PathLike[str]) -> dict[str, str]:
    root = Path(target)
    paths = [root] if root.is_file() else sorted(root.rglob("*" + SCENARIO_SUFFIX))
    return {_display(p): p.read_text(encoding="utf-8") for p in paths}


def read_kb_files(target: str | os.PathLike[str] | None = None, relative: bool = False) -> dict[str, str]:
    """Knowledge-base files: ``*.yaml`` directly in the folder, in ``signals/`` and in ``facts/``;
    named as by :func:`read_rule_files`, with ``relative`` as ``knowledge_base/`` + the path in
    the folder (the name the loader gives the knowledge base, whatever the folder is called)."""
    root = Path(target) if target else default_kb_dir()
    paths = sorted(list(root.glob("*.yaml")) + list(root.glob("signals/*.yaml")) + list(root.glob("facts/*.yaml")))
    return {(KB_PREFIX + _relative(p, root) if relative else _display(p)): p.read_text(encoding="utf-8")
            for p in paths}
