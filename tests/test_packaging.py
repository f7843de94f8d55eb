"""pyproject.toml: installing the package prints no packaging warning (issue 22 §8)."""

from __future__ import annotations

import warnings

from setuptools.config.pyprojecttoml import apply_configuration  # type: ignore[import-untyped]
from setuptools.dist import Distribution  # type: ignore[import-untyped]

from tests.conftest import ROOT


def test_the_project_metadata_has_no_deprecated_key() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    assert [f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught] == []
    assert dist.metadata.license_expression == "LGPL-3.0-or-later"  # an SPDX expression, not a table


def test_the_editable_install_silences_only_the_notice_about_the_symlinked_folder() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert 'EDITABLE_QUIET = PYTHONWARNINGS="ignore:Editable installation"' in makefile
    [line] = [ln for ln in makefile.splitlines() if "pip install" in ln and " -e ." in ln and "$(BIN)" in ln]
    assert line.lstrip().startswith("$(EDITABLE_QUIET) ")
