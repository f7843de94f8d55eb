"""README.md's map of the house matches the folders and modules on disk."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _map() -> dict[str, str]:
    """Folder (``engine/language``) -> what its line says, from the README's map."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Map of the house", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    out: dict[str, str] = {}
    parent = ""
    for line in block.splitlines():
        match = re.match(r"( *)(\S+)/ +(.*)", line)
        assert match, f"not a folder line: {line!r}"
        indent, name, text = match.groups()
        folder = f"{parent}/{name}" if indent else name
        parent = parent if indent else name
        out[folder] = text
    return out


def test_every_top_level_folder_and_engine_stage_has_a_line() -> None:
    on_disk = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")
               and p.name not in {"build", "__pycache__"} and not p.name.endswith(".egg-info")}
    stages = {f"engine/{p.name}" for p in (ROOT / "engine").iterdir() if (p / "__init__.py").exists()}
    mapped = set(_map())
    assert on_disk <= mapped, sorted(on_disk - mapped)
    assert stages <= mapped, sorted(stages - mapped)
    assert all((ROOT / folder).is_dir() for folder in mapped), [f for f in mapped if not (ROOT / f).is_dir()]


def test_each_engine_stage_line_names_every_module_in_it() -> None:
    for folder, text in _map().items():
        if folder.startswith("engine/"):
            modules = {p.stem for p in (ROOT / folder).glob("*.py") if p.name != "__init__.py"}
            named = set(re.findall(r"\w+", text))
            assert modules <= named, (folder, sorted(modules - named))
