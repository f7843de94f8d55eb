"""Rules: list them, read one with its provenance, check posted rule files without loading them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query
from starlette.responses import Response

from rm_advisor.api import examples, paths, present
from rm_advisor.api.access import reads
from rm_advisor.api.deps import LangDep, LoadedDep, SettingsDep, language_headers
from rm_advisor.api.problems import ErrorItem, Problem, diagnostic_item, documented, listed
from rm_advisor.api.schemas import (
    DiagnosticOut,
    RuleCheckRequest,
    RuleCheckResult,
    RuleDetail,
    RuleFileIn,
    RuleList,
    SubjectType,
)
from rm_advisor.engine.inference import check_rules
from rm_advisor.engine.language import Domain
from rm_advisor.engine.loading import yaml_nodes
from rm_advisor.engine.messages import N_

router = APIRouter(prefix="/v1/rules", tags=["rules"], dependencies=[Depends(reads)])


@router.get("", response_model=RuleList, responses=documented("unauthorized", "invalid_request"),
            summary="List the loaded rules")
def list_rules(loaded: LoadedDep, lang: LangDep,
               domain: Annotated[Domain | None, Query(description="only rules of this domain")] = None,
               subject: Annotated[SubjectType | None, Query(description="only client or manager rules")] = None,
               ) -> Response:
    """Every loaded rule (sorted by id) with its file:line, priority, provenance and outcomes."""
    rules = [present.rule_summary(r, lang) for r in loaded.book.rules
             if (domain is None or r.rule.domain == domain) and (subject is None or r.rule.subject == subject)]
    return RuleList(revision=loaded.revision, count=len(rules), rules=rules).response(language_headers(lang))


@router.get(f"/{{rule_id:{paths.RULE_ID}}}", response_model=RuleDetail,
            responses=documented("unauthorized", "not_found", "invalid_request"),
            summary="One rule, as written, with its provenance")
def get_rule(rule_id: Annotated[str, Path(max_length=200)], loaded: LoadedDep, lang: LangDep) -> Response:
    """The rule's condition and outcomes as written in its file, where it is and where it comes from."""
    rule = loaded.book.by_id().get(rule_id)
    if rule is None:
        raise Problem("not_found", N_("no rule `{rule}` in revision {revision}"),
                      fields={"rule": rule_id, "revision": loaded.revision},
                      errors=[ErrorItem(code="not_found", parameter="rule_id", detail=f"unknown rule `{rule_id}`")])
    return present.rule_detail(rule, lang).response(language_headers(lang))


@router.post("/check", response_model=RuleCheckResult,
             responses=documented("bad_json", "unauthorized", "body_too_large", "rules_too_large",
                                  "unsupported_media_type", "invalid_request"),
             summary="Check rule files without loading them")
def check(body: Annotated[RuleCheckRequest, Body(openapi_examples=examples.RULE_CHECK)],
          loaded: LoadedDep, settings: SettingsDep) -> Response:
    """Check posted rule files against the loaded knowledge base and report every problem with
    file:line:column, code, rule id and hint. Nothing is loaded; ``ok`` says whether a reload with
    these files would be accepted.

    Every problem is counted in ``errors`` and ``warnings``; at most the server's
    ``max_diagnostics`` (default 200) are listed, errors first (``omitted`` counts the others).
    The posted files may hold at most ``max_check_nodes`` YAML nodes in all (default 40,000,
    about four times the shipped packs; 413 ``rules_too_large`` otherwise)."""
    names = [f.name for f in body.files]
    twice = [ErrorItem(code="duplicate_name", pointer=f"/files/{i}/name", detail=f"`{n}` is posted twice")
             for i, n in enumerate(names) if n in names[:i]]
    if twice:
        raise Problem("invalid_request", N_("each posted file needs its own name"), twice)
    files = {f.name: f.text for f in body.files}
    if body.together:
        # a posted file replaces the loaded file of the same name (revisions identify files by name too)
        posted = {n.rsplit("/", 1)[-1] for n in files}
        files = {**{n: t for n, t in loaded.rule_files.items() if n.rsplit("/", 1)[-1] not in posted}, **files}
    within_budget(body.files, settings.max_check_nodes)
    shown, errors, warnings = listed(check_rules(files, loaded.book.kb), settings.max_diagnostics)
    return RuleCheckResult(ok=errors == 0, errors=errors, warnings=warnings, omitted=errors + warnings - len(shown),
                           revision=loaded.revision, files=sorted(files),
                           diagnostics=[DiagnosticOut(**diagnostic_item(d).model_dump()) for d in shown]).response()


def within_budget(files: list[RuleFileIn], budget: int) -> None:
    """Refuse, before parsing anything, posted files that hold more YAML than one check takes:
    counting nodes from the parser's events costs a fraction of checking them."""
    sizes: list[tuple[int, int]] = []
    left = budget
    for i, f in enumerate(files):
        size = yaml_nodes(f.text, left)
        sizes.append((i, size))
        left -= size
        if left < 0:
            raise Problem("rules_too_large", N_("the posted files hold more than {budget} YAML nodes (aliases "
                                                "expanded); check at most that many per request, or use "
                                                "`rm-advisor check`"), fields={"budget": budget},
                          errors=[ErrorItem(code="rules_too_large", pointer=f"/files/{j}/text",
                                            detail=f"`{files[j].name}`: {'more than ' if j == i else ''}{n} nodes")
                                  for j, n in sizes if n])
