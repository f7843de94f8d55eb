"""Path segments that routes on overlapping paths take, so routing agrees with the spec.

``POST /v1/decisions/{subject_type}/{subject_id}`` also matched ``/v1/decisions/{decision_id}/replay``
(and answered 422 for ``subject_type``) where the spec says POST is not allowed there (405); and
``GET /v1/rules/{rule_id}`` matched ``/v1/rules/check``, whose only method is POST. OpenAPI matches a
concrete path before a templated one; these convertors make Starlette's router do the same.
"""

from __future__ import annotations

from starlette.convertors import StringConvertor, register_url_convertor


class SubjectTypeSegment(StringConvertor):
    """``client`` or ``manager`` (the subject types), nothing else."""

    regex = "client|manager"
    hint = "client (next-best-actions) or manager (coaching)"


class RuleIdSegment(StringConvertor):
    """A rule id, except the names of the routes beside ``/v1/rules/{rule_id}`` (``check``)."""

    regex = "(?!check$)[^/]+"


SUBJECT_TYPE = "subject_type"
RULE_ID = "rule_id"
register_url_convertor(SUBJECT_TYPE, SubjectTypeSegment())
register_url_convertor(RULE_ID, RuleIdSegment())
