"""Reading the labelled set: one case a line, checked before anything runs."""
import json
from dataclasses import dataclass
from pathlib import Path

from conversations.models import Message

DEFAULT_SET = Path(__file__).with_name("scheduling_eval.jsonl")

#: The labelled decisions, in the order the report prints them. `route`: "new" (a task is created),
#: "continue" (the chat's open task carries on), "none" (no task).
LABELLED = ("ignore", "route", "skill", "status", "recipients", "suppressed")
#: Judged on every sent reply, not labelled: the reply matches its platform's register.
REGISTER = "register"
DECISIONS = (*LABELLED, REGISTER)

_ROUTES = frozenset({"new", "continue", "none"})
_MESSAGE_KEYS = frozenset({"platform", "from", "to", "cc", "subject", "content", "time"})


class CaseError(ValueError):
    """A line of the set that is not a valid case."""


@dataclass(frozen=True)
class Case:
    """One labelled situation: messages (the last one judged), the owner's time zone, the expected decisions."""

    id: str
    tags: tuple[str, ...]
    timezone: str
    messages: tuple[dict, ...]
    expect: dict
    note: str = ""

    @property
    def judged(self) -> dict:
        return self.messages[-1]


def load_cases(path: Path | str = DEFAULT_SET) -> list[Case]:
    """The cases of a JSONL file, in order; CaseError naming the line for anything malformed."""
    cases, seen = [], set()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = _case(json.loads(line))
        except (json.JSONDecodeError, KeyError, TypeError, CaseError) as exc:
            raise CaseError(f"{path}:{number}: {exc}") from exc
        if case.id in seen:
            raise CaseError(f"{path}:{number}: duplicate case id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return cases


def _case(raw: dict) -> Case:
    messages = tuple(raw["messages"])
    if not messages:
        raise CaseError("a case needs at least one message")
    for message in messages:
        if unknown := set(message) - _MESSAGE_KEYS:
            raise CaseError(f"unknown message keys {sorted(unknown)}")
        if message["platform"] not in Message.Platform.values or not str(message["content"]).strip():
            raise CaseError(f"a message needs a known platform and content: {message}")
    expect = dict(raw["expect"])
    if unknown := set(expect) - set(LABELLED):
        raise CaseError(f"unknown decisions {sorted(unknown)}")
    if "route" in expect and expect["route"] not in _ROUTES:
        raise CaseError(f"route must be one of {sorted(_ROUTES)}")
    return Case(id=str(raw["id"]), tags=tuple(raw.get("tags", ())), timezone=str(raw["timezone"]),
                messages=messages, expect=expect, note=str(raw.get("note", "")))
