"""Rule releases with four eyes: a rule author proposes, another user approves, the server switches.

* ``POST /v1/releases`` (rule author or administrator): the posted rule files, or the server's rule
  directory, are checked, compiled and replayed against the serving revision over the newest logged
  batch run (or a sample portfolio); the release is recorded as *proposed*.
* ``POST /v1/releases/{id}/approve`` and ``/reject`` (an administrator who did not propose it):
  approval checks and compiles the release with the serving knowledge base, records it as active
  (the previous one superseded) and then serves it, in every worker process, as a reload does.
* ``POST /v1/releases/{id}/rollback`` (an administrator): serve the revision of an earlier release
  that served before again, in one step.

The machine API key is no person, so it may read releases but neither propose nor decide them.
Every change of state is audited in the decision database (who, when, the revision serving before).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request
from starlette.responses import Response

from rm_advisor.api import examples, metrics
from rm_advisor.api.access import ApiUser, CsrfChecked, Principal, has_users
from rm_advisor.api.deps import LiveDep, SettingsDep, StoreDep
from rm_advisor.api.problems import Problem, documented
from rm_advisor.api.routes.rules import within_budget
from rm_advisor.api.ruleset import LiveRuleSet, LoadedRuleSet, read_files
from rm_advisor.api.schemas import (
    ReleaseActivated,
    ReleaseEventOut,
    ReleaseList,
    ReleaseOut,
    ReleaseProposal,
)
from rm_advisor.api.settings import Settings
from rm_advisor.engine.messages import N_
from rm_advisor.store import Release, Store
from rm_advisor.store.release_review import review_release
from rm_advisor.store.releases import APPROVER_ROLES, PROPOSER_ROLES

router = APIRouter(prefix="/v1/releases", tags=["rule releases"])

#: who may propose a release, who may approve, reject and roll back (never the one who proposed it)
PROPOSERS, APPROVERS = PROPOSER_ROLES, APPROVER_ROLES
#: who may read the releases: those who write or decide them, and machine clients
READERS = PROPOSERS | APPROVERS | {"service"}

_ACCESS = ("unauthorized", "forbidden", "csrf_failed", "store_unavailable", "decision_log_off", "invalid_request")
_ID = Path(ge=1, le=2**31 - 1, description="the release's id")
#: the note of an approval, a rejection or a rollback, kept in the audit trail
NoteQuery = Annotated[str | None, Query(max_length=2000, description="why, kept in the audit trail")]
_BODY = ("bad_json", "body_too_large", "unsupported_media_type")


def four_eyes_on(request: Request, settings: Settings, store: Store | None) -> bool:
    """Whether rule changes go through releases: ``four_eyes`` on, or auto and the database has accounts."""
    return settings.four_eyes == "on" or (settings.four_eyes == "auto" and has_users(request, store))


def _allow(principal: Principal, roles: frozenset[str], doing: str) -> None:
    """403 ``forbidden`` unless the principal's role may do ``doing`` (named in the server log only)."""
    if principal.role not in roles:
        raise Problem("forbidden", N_("your role does not give access to this"))


def _out(release: Release) -> ReleaseOut:
    return ReleaseOut(id=release.id, revision=release.revision, state=release.state,
                      base_revision=release.base_revision, files=sorted(release.rule_files),
                      proposed_by=release.proposed_by, proposed_at=release.proposed_at,
                      decided_by=release.decided_by, decided_at=release.decided_at, note=release.note,
                      decision_note=release.decision_note, check=release.check_summary, diff=release.diff_summary,
                      events=[ReleaseEventOut(event=e.event, state=e.state, by=e.by, at=e.at,
                                              serving_before=e.serving_before, note=e.note) for e in release.events])


def _activated(release: Release, previous: str, serving: str) -> Response:
    return ReleaseActivated(**_out(release).model_dump(), serving=serving, previous_revision=previous).response()


@router.get("", response_model=ReleaseList, responses=documented(*_ACCESS), summary="The rule releases, newest first")
def list_releases(request: Request, principal: ApiUser, store: StoreDep, live: LiveDep,
                  settings: SettingsDep) -> Response:
    """Rule authors, administrators and the API key: every release with its state, who proposed and
    decided it, and its check and diff summaries (the newest 50)."""
    _allow(principal, READERS, "read")
    return ReleaseList(releases=[_out(r) for r in store.releases.list()], serving=live.revision,
                       four_eyes=four_eyes_on(request, settings, store)).response()


@router.get("/{release_id}", response_model=ReleaseOut, responses=documented(*_ACCESS, "release_not_found"),
            summary="One rule release with its diff summary and audit trail")
def get_release(principal: ApiUser, store: StoreDep, release_id: Annotated[int, _ID]) -> Response:
    """The release, what it changes against the revision serving when it was proposed, and every
    change of its state."""
    _allow(principal, READERS, "read")
    return _out(store.releases.get(release_id)).response()


@router.post("", response_model=ReleaseOut, status_code=201, dependencies=[CsrfChecked],
             responses=documented(*_ACCESS, *_BODY, "rule_set_invalid", "rules_unreadable", "rules_too_large",
                                  "release_unchanged"),
             summary="Propose a rule release (rule author or administrator)")
def propose_release(principal: ApiUser, store: StoreDep, live: LiveDep, settings: SettingsDep,
            body: Annotated[ReleaseProposal, Body(openapi_examples=examples.RELEASE)]) -> Response:
    """Check the rule files (posted: each replaces the serving file of the same name; none: the
    files in the server's rule directory), compile them, and replay the newest logged batch run
    (or a sample portfolio) under the serving and the proposed revision. A rule set with any error
    is refused (422 ``rule_set_invalid``, located as a reload's); one that serves now or is
    proposed already is 409 ``release_unchanged``. Recorded as *proposed*, for another user to
    approve."""
    _allow(principal, PROPOSERS, "propose")
    serving = live.current()
    if body.files is not None:
        within_budget(body.files, settings.max_check_nodes)
        rule_files = {**serving.rule_files, **{f.name: f.text for f in body.files}}
    else:
        rule_files = read_files(live.rules_dir, live.kb_dir)[0]
    review = review_release(rule_files, serving.kb_files, serving.book, store.decisions)
    release = store.releases.propose(rule_files, review.revision, serving.revision, review.check_summary,
                                     review.diff_summary, principal.username, body.note)
    return _out(release).response(status_code=201)


@router.post("/{release_id}/approve", response_model=ReleaseActivated, dependencies=[CsrfChecked],
             responses=documented(*_ACCESS, "release_not_found", "release_state", "release_self_approval",
                                  "release_stale", "rule_set_invalid"),
             summary="Approve a proposed release and serve it (administrator, not its proposer)")
def approve_release(request: Request, principal: ApiUser, store: StoreDep, live: LiveDep,
                    release_id: Annotated[int, _ID], note: NoteQuery = None) -> Response:
    """An administrator other than the proposer (403 ``release_self_approval`` for the proposer)
    activates the release: it is compiled with the serving knowledge base (409 ``release_stale``
    when its revision would differ), recorded as active (the one before superseded) and served
    from the next request on, by every worker process."""
    approved, previous, current = activate(store, live, principal, release_id, note)
    request.state.revision = current
    return _activated(approved, previous, current)


@router.post("/{release_id}/reject", response_model=ReleaseOut, dependencies=[CsrfChecked],
             responses=documented(*_ACCESS, "release_not_found", "release_state", "release_self_approval"),
             summary="Reject a proposed release (administrator, not its proposer)")
def reject_release(principal: ApiUser, store: StoreDep, release_id: Annotated[int, _ID],
                   note: NoteQuery = None) -> Response:
    """The release is recorded as rejected, with the note; nothing changes in what serves."""
    return _out(reject_as(store, principal, release_id, note)).response()


@router.post("/{release_id}/rollback", response_model=ReleaseActivated, dependencies=[CsrfChecked],
             responses=documented(*_ACCESS, "release_not_found", "release_state", "release_stale",
                                  "rule_set_invalid"),
             summary="Serve the revision of an earlier release again, in one step (administrator)")
def rollback_release(request: Request, principal: ApiUser, store: StoreDep, live: LiveDep,
                     release_id: Annotated[int, _ID], note: NoteQuery = None) -> Response:
    """The revision of release ``release_id``, which served before (superseded or rolled back),
    becomes active again and serves from the next request on; the active one is recorded as
    rolled back. 409 ``release_state`` when it never served or serves now."""
    _allow(principal, APPROVERS, "roll back")
    target = store.releases.get(release_id)
    if target.state not in ("superseded", "rolled_back"):
        raise Problem("release_state", N_("release {id} is {state}: only a release that served before is rolled "
                                          "back to"), fields={"id": target.id, "state": target.state})
    loaded = live.prepare(target.rule_files, target.revision)
    back = store.releases.rollback(target.revision, principal.username, note)
    return _serve(request, live, loaded, back)


def _pending(release: Release, principal: Principal) -> Release:
    """The release, if ``principal`` may decide it now (the store checks again, atomically)."""
    if release.state == "proposed" and release.proposed_by == principal.username:
        raise Problem("release_self_approval", N_("you proposed release {id}: another administrator approves it "
                                                  "(four eyes)"), fields={"id": release.id})
    if release.state != "proposed":
        raise Problem("release_state", N_("release {id} is {state}, not proposed"),
                      fields={"id": release.id, "state": release.state})
    return release


def _serve(request: Request, live: LiveRuleSet, loaded: LoadedRuleSet, release: Release) -> Response:
    previous, current = live.swap(loaded)
    metrics.reloaded(True)
    request.state.revision = current.revision
    return _activated(release, previous.revision, current.revision)


def activate(store: Store, live: LiveRuleSet, principal: Principal, release_id: int,
             note: str | None = None) -> tuple[Release, str, str]:
    """Approve a proposed release and serve it: (the release, the revision before, the revision
    now). The route and the workspace's Approve button both come here."""
    _allow(principal, APPROVERS, "approve")
    release = _pending(store.releases.get(release_id), principal)
    loaded = live.prepare(release.rule_files, release.revision)
    approved = store.releases.approve(release_id, principal.username, note)
    previous, current = live.swap(loaded)
    metrics.reloaded(True)
    return approved, previous.revision, current.revision


def reject_as(store: Store, principal: Principal, release_id: int, note: str | None = None) -> Release:
    """Reject a proposed release (an approver other than its proposer)."""
    _allow(principal, APPROVERS, "reject")
    return store.releases.reject(release_id, principal.username, note)


def serve_active_release(live: LiveRuleSet, store: Store, settings: Settings) -> None:
    """At start-up, with four eyes on: serve the active release (what was approved last), not the
    rule files on disk."""
    if settings.four_eyes == "off" or (settings.four_eyes == "auto" and not store.users.exist()):
        return
    active = store.releases.active()
    if active is not None and active.revision != live.revision:
        live.swap(live.prepare(active.rule_files))


__all__ = ["APPROVERS", "PROPOSERS", "READERS", "activate", "four_eyes_on", "reject_as", "router",
           "serve_active_release"]
