"""The engine's judgement, measured: a labelled set of inbound messages run through the HTTP API.

`scheduling_eval.jsonl` holds the cases, one JSON object a line:

    {"id": "sched-sms-move", "tags": [...], "timezone": "Europe/London", "note": "why, when not obvious",
     "messages": [{"platform": "sms", "from": "+14155550101", "to": [], "cc": [], "subject": "",
                   "content": "can we move my 1:1 to Thursday?", "time": "2026-12-01T10:07:00+00:00"}],
     "expect": {"ignore": false, "route": "new", "skill": "scheduling", "status": "pending",
                "recipients": {"to": ["+14155550101"]}, "suppressed": false}}

Every message but the last sets the case up (it is processed first, e.g. to open a task); the last one
is judged. `to`/`cc` are email recipients, or a chat's other participants on the other platforms. A
decision left out of `expect` is not judged for that case; `status` may list the statuses the contract
allows. The people the cases name are `CAST` (`runner.py`).

`evaluate(cases)` runs them (`manage.py evaluate_engine` on a throwaway database; the CI test inside
the test database) and returns an `EvaluationReport`.
"""
from .cases import DECISIONS, DEFAULT_SET, Case, load_cases
from .runner import CAST, EvaluationReport, evaluate

__all__ = ["CAST", "DECISIONS", "DEFAULT_SET", "Case", "EvaluationReport", "evaluate", "load_cases"]
