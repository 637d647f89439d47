"""Schemathesis hooks for Proofdesk: the two request rules JSON Schema cannot
state, applied to *positive* (schema-valid) cases only, so that "no
schema-valid request rejected" tests what the schema can promise.

These rules are written in the document's descriptions:
- `occurred_at` may be at most 5 minutes ahead of the server's clock (a rule
  about time, not shape): a generated future instant is moved to a past one.
- satisfaction.rated: `score` is at most `scale` (a rule between two
  members): a generated pair that breaks it is swapped.
- GET /v1/export: an index range (from, to) or a time range (since,
  until), not both, each in order (rules between parameters): a generated
  case with both keeps the index range, and a range given backwards is
  swapped.
- GET /v1/batches/{id}/leaves: `from` must be below the batch's leaf count,
  which is data, not schema: positive cases read from position 0.

And one about data: schema-valid cases on the event routes (receipt,
content) name the demo ticket (PD_HANDLE) and one of its first events, so
the response schemas are checked on real receipts and disclosures rather
than only on 404s.

Nothing else is adjusted; every other rule must be in the schema.
"""

import os
from datetime import datetime, timezone

import schemathesis

PAST = "2020-01-01T00:00:00.000Z"


def _fix_event(event):
    if not isinstance(event, dict):
        return
    ts = event.get("occurred_at")
    if isinstance(ts, str):
        try:
            when = datetime.fromisoformat(ts.replace("Z", "+00:00").replace("z", "+00:00"))
            if when.tzinfo is None or when > datetime.now(timezone.utc):
                event["occurred_at"] = PAST
        except ValueError:
            pass
    data = event.get("data")
    if event.get("type") == "satisfaction.rated" and isinstance(data, dict):
        score, scale = data.get("score"), data.get("scale")
        numbers = (int, float)
        if isinstance(score, numbers) and isinstance(scale, numbers) and score > scale:
            data["score"], data["scale"] = scale, score


def _int(v):
    # Some phases carry query values as strings.
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.isdigit():
        return int(v)
    return None


def _instant(s):
    if not isinstance(s, str):
        return None
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00").replace("t", "T"))
    except (TypeError, ValueError):
        return None


def _fix_query(path, query):
    if path == "/v1/export":
        if ("from" in query or "to" in query) and ("since" in query or "until" in query):
            query.pop("since", None)
            query.pop("until", None)
        frm, to = _int(query.get("from")), _int(query.get("to"))
        if frm is not None and to is not None and to < frm:
            query["from"], query["to"] = to, frm
        since, until = _instant(query.get("since")), _instant(query.get("until"))
        if since is not None and until is not None and since >= until:
            if since == until:
                query.pop("until")
            else:
                query["since"], query["until"] = query["until"], query["since"]
    elif path == "/v1/batches/{id}/leaves" and "from" in query:
        query["from"] = 0


@schemathesis.hook
def map_case(context, case):
    meta = getattr(case, "meta", None)
    positive = meta is not None and meta.generation.mode.is_positive
    if positive and isinstance(case.query, dict):
        _fix_query(case.operation.path, case.query)
    if (
        positive
        and case.operation.path.startswith("/v1/tickets/{handle}/events/{seq}/")
        and isinstance(case.path_parameters, dict)
        and os.environ.get("PD_HANDLE")
    ):
        case.path_parameters["handle"] = os.environ["PD_HANDLE"]
        seq = _int(case.path_parameters.get("seq"))
        if seq is not None:
            case.path_parameters["seq"] = seq % 4
    if not positive or not isinstance(case.body, dict):
        return case
    body = case.body
    if isinstance(body.get("events"), list):
        for item in body["events"]:
            if isinstance(item, dict):
                _fix_event(item.get("event"))
    else:
        _fix_event(body)
    return case
