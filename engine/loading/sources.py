"""Reading rule and knowledge-base files from disk: the I/O edge the loader is given."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path

from rm_advisor.engine.errors import Diagnostic, Location, RuleError

SCENARIO_SUFFIX = ".scenarios.yaml"
#: Contact policies live beside the rules (``rules/contact.policies.yaml``); they are read with the
#: rule files, so they count in the revision and in ``rm-advisor check``, and the loader tells them apart.
POLICY_SUFFIX = ".policies.yaml"
#: The ranking formula's data (``rules/arbitration.yaml``, :mod:`engine.policies.arbitration`) lives
#: beside the rules too, for the same reasons: it counts in the revision and in ``rm-advisor check``.
ARBITRATION_NAME = "arbitration.yaml"
#: How :func:`read_kb_files` names knowledge-base files relative to their folder.
KB_PREFIX = "knowledge_base/"


def is_policy_file(name: str) -> bool:
    return name.endswith(POLICY_SUFFIX)


def is_arbitration_file(name: str) -> bool:
    """``arbitration.yaml``, or a name ending so (``tobacco.arbitration.yaml``, a copy renamed with a prefix)."""
    return name.replace("\\", "/").rsplit("/", 1)[-1].endswith(ARBITRATION_NAME)


def default_rules_dir() -> Path:
    """The rule packs shipped with the package."""
    return Path(str(resources.files("rm_advisor.rules")))


def default_kb_dir() -> Path:
    """The knowledge base shipped with the package."""
    return Path(str(resources.files("rm_advisor.knowledge_base")))


def catalogue_file(lang: str) -> Path:
    """The message catalogue of ``lang`` shipped with the package (:mod:`engine.messages`)."""
    return Path(str(resources.files("rm_advisor.engine"))) / "locale" / lang / "LC_MESSAGES" / "messages.po"


def read_catalogue(lang: str) -> bytes:
    """The PO file of ``lang``'s interface messages, as bytes (Babel reads the encoding it declares)."""
    return catalogue_file(lang).read_bytes()


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


def _texts(named: Iterable[tuple[str, Path]]) -> dict[str, str]:
    """Each file's text by its name; every file that is not UTF-8 is named (by its path, as the
    command line shows it), with the line and column of its first bad byte, in one
    :class:`RuleError` (nothing is half-read)."""
    texts: dict[str, str] = {}
    bad: list[Diagnostic] = []
    for name, path in named:
        data = path.read_bytes()
        try:
            texts[name] = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            before = data[:exc.start].decode("utf-8", errors="replace")
            line = before.count("\n") + 1
            column = len(before) - (before.rfind("\n") + 1) + 1
            bad.append(Diagnostic("file_not_utf8", f"byte 0x{data[exc.start]:02x} is not UTF-8 text",
                                  Location(file=_display(path), line=line, column=column),
                                  hint="save the file as UTF-8 (an editor's 'encoding' menu; "
                                       "`iconv -f gbk -t utf-8` for a GBK file)"))
    if bad:
        raise RuleError(bad)
    return texts


def read_rule_files(target: str | os.PathLike[str], relative: bool = False) -> dict[str, str]:
    """Rule files under a directory (or one file): ``*.yaml`` except scenario files; contact-policy
    files (``*.policies.yaml``) and the arbitration file (``arbitration.yaml``) are included and told
    apart by the loader.

    Files are named as a command line shows them (relative to the working directory when they
    are under it), or with ``relative`` relative to ``target``: what a server shows its clients,
    which need not know where its files are."""
    root = Path(target)
    return _texts(((_relative(p, root) if relative else _display(p)), p) for p in rule_file_paths(root))


def rule_file_paths(target: str | os.PathLike[str]) -> list[Path]:
    """The files :func:`read_rule_files` reads, in order."""
    root = Path(target)
    return [root] if root.is_file() else sorted(p for p in root.rglob("*.yaml") if not p.name.endswith(SCENARIO_SUFFIX))


def read_scenario_files(target: str | os.PathLike[str]) -> dict[str, str]:
    root = Path(target)
    paths = [root] if root.is_file() else sorted(root.rglob("*" + SCENARIO_SUFFIX))
    return _texts((_display(p), p) for p in paths)


def read_kb_files(target: str | os.PathLike[str] | None = None, relative: bool = False) -> dict[str, str]:
    """Knowledge-base files: ``*.yaml`` directly in the folder, in ``signals/`` and in ``facts/``;
    named as by :func:`read_rule_files`, with ``relative`` as ``knowledge_base/`` + the path in
    the folder (the name the loader gives the knowledge base, whatever the folder is called)."""
    root = Path(target) if target else default_kb_dir()
    paths = sorted(list(root.glob("*.yaml")) + list(root.glob("signals/*.yaml")) + list(root.glob("facts/*.yaml")))
    return _texts(((KB_PREFIX + _relative(p, root) if relative else _display(p)), p) for p in paths)


#: The environment variable naming the folder of source-document texts (``rm-advisor check --documents``).
DOCUMENTS_ENV = "RM_ADVISOR_DOCUMENTS"


def read_documents(folder: str | os.PathLike[str], files: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The texts of the source documents (``files``: document id -> file name, from
    ``knowledge_base/documents.yaml``) found in ``folder``, by id, and the ids whose file is not
    there. A file that is not UTF-8 raises :class:`RuleError` naming it."""
    root = Path(folder)
    found = {doc_id: root / name for doc_id, name in files.items() if (root / name).is_file()}
    return _texts(found.items()), sorted(set(files) - set(found))
