"""Running the labelled cases through the HTTP API and scoring the engine's decisions.

Each case gets an account of its own (so no case sees another's chats, tasks or rate-limit window):
its certificate, the assistant Ava, the users of `CAST` it involves with their handles, the owner's
time zone. Then, as a gateway would, the owner's delegated token creates a chat, posts each message
with its metadata and processes it; the last answer is judged:

- ignore: the body's `ignored`; suppressed: its `suppressed`;
- route: "none" without `taskIds`, "continue" when they are tasks the case's earlier messages opened,
  else "new";
- skill: the task's `type`; status: the status the engine gave a new task (its "Task created"
  activity: what a later first step of the task does is not the engine's judgement), or the
  continued task's status now;
- recipients: the reply's `to` (and `cc` for email), as sets; None when no reply was sent;
- register (unlabelled, on every sent reply): an email reads as a letter (greeting, signature);
  SMS, WhatsApp, Slack, Teams and chat replies are short and carry neither (`reply_register_ok`).

Setting up uses the services (it is not what is measured); everything measured goes through the API.
"""
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from rest_framework.test import APIClient

from accounts.models import Account, Certificate
from accounts.services import account_create, assistant_create, generate_key_pair, user_get_or_provision, user_update
from accounts.tokens import mint_token
from conversations.addressing import handle_key
from conversations.engine.understanding import CONVERSATIONAL_LIMIT, is_letter_platform
from directory.models import UserIdentifier
from directory.services import identifier_create
from tskr.infra.ids import new_id

from .cases import DECISIONS, LABELLED, REGISTER, Case

ASSISTANT = {"name": "Ava", "email": "ava@northwind.test", "personality": "Warm, concise and organised",
             "signature": "Best,\nAva", "writing_style": {"professionalism": 7, "humor": 3, "emojiUse": 1}}
#: The account's users the cases name, with their handles; anyone else in a case is an outside person.
#: Maya owns every case's chat: she posts the messages, as a gateway would with her token.
CAST = (
    {"email": "maya@northwind.test", "first_name": "Maya", "last_name": "Patel",
     "handles": {UserIdentifier.Type.PHONE: "+1 415 555 0101", UserIdentifier.Type.SLACK: "U01MAYA",
                 UserIdentifier.Type.TEAMS: "29:maya-northwind"}},
    {"email": "sam@northwind.test", "first_name": "Sam", "last_name": "Lee",
     "handles": {UserIdentifier.Type.PHONE: "+1 415 555 0102", UserIdentifier.Type.SLACK: "U02SAM",
                 UserIdentifier.Type.TEAMS: "29:sam-northwind"}},
    {"email": "priya@northwind.test", "first_name": "Priya", "last_name": "Nair",
     "handles": {UserIdentifier.Type.SLACK: "U03PRIYA"}},
)
OWNER = CAST[0]


@dataclass(frozen=True)
class Miss:
    """One decision a case got wrong."""

    case_id: str
    decision: str
    expected: object
    actual: object


@dataclass
class EvaluationReport:
    """Per decision, how many judged cases were right; and every miss."""

    engine: str
    cases: int = 0
    judged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISIONS, 0))
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISIONS, 0))
    misses: list[Miss] = field(default_factory=list)
    #: Cases whose set-up or judged call failed (answered other than 2xx), with the answer.
    errors: dict[str, str] = field(default_factory=dict)
    #: The ids of the cases that follow up an open task (tagged `open-task`), reported apart.
    open_task_cases: list[str] = field(default_factory=list)

    def accuracy(self, decision: str) -> float:
        return self.right[decision] / self.judged[decision] if self.judged[decision] else 1.0

    def below(self, minimum: float) -> list[str]:
        return [decision for decision in DECISIONS if self.accuracy(decision) < minimum]

    def failed_cases(self) -> list[str]:
        return list(dict.fromkeys(miss.case_id for miss in self.misses))

    def body(self) -> dict:
        """The report as one JSON object (`evaluate_engine --json`)."""
        return {"engine": self.engine, "cases": self.cases,
                "decisions": {decision: {"accuracy": round(self.accuracy(decision), 4), "right": self.right[decision],
                                         "judged": self.judged[decision]} for decision in DECISIONS},
                "misses": [{"caseId": miss.case_id, "decision": miss.decision, "expected": miss.expected,
                            "actual": miss.actual} for miss in self.misses],
                "errors": self.errors, "openTaskCases": self.open_task_cases}

    def score(self, case_id: str, decision: str, expected, actual, *, ok: bool | None = None) -> None:
        self.judged[decision] += 1
        if ok if ok is not None else expected == actual:
            self.right[decision] += 1
        else:
            self.misses.append(Miss(case_id, decision, expected, actual))


def evaluate(cases: Iterable[Case], *, engine: str) -> EvaluationReport:
    """Run every case through the API (see the module docstring); `engine` only names the report."""
    public_pem, private_pem = generate_key_pair()
    # parsed once: PyJWT signs with a key object as with its PEM, and parsing an RSA key per case costs
    # more than running the case
    private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    report = EvaluationReport(engine=engine)
    for case in cases:
        report.cases += 1
        if "open-task" in case.tags:
            report.open_task_cases.append(case.id)
        _run_case(case, report, public_pem=public_pem, private_key=private_key)
    return report


class _CallFailed(Exception):
    pass


def _run_case(case: Case, report: EvaluationReport, *, public_pem: str, private_key) -> None:
    account = account_create(name=f"Evaluation {case.id}")
    certificate = Certificate.objects.create(account=account, kid=new_id("kid"), public_key_pem=public_pem,
                                             name="evaluation")
    assistant = assistant_create(account=account, **ASSISTANT)
    _cast(account, case)
    client = APIClient()
    token = mint_token(kid=certificate.kid, private_key_pem=private_key, email=OWNER["email"],
                       first_name=OWNER["first_name"], last_name=OWNER["last_name"])
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    try:
        chat_id = _call(client, "post", "/chats", {"assistantId": assistant.id})["chat"]["id"]
        opened: set[str] = set()
        for message in case.messages:
            _call(client, "post", f"/chats/{chat_id}/messages", _message_body(message))
            body = _call(client, "post", f"/chats/{chat_id}/process", {})
            if message is not case.judged:
                opened.update(body["taskIds"])
        tasks = [_call(client, "get", f"/tasks/{task_id}")["task"] for task_id in body["taskIds"]]
    except _CallFailed as exc:
        report.errors[case.id] = str(exc)
        for decision in case.expect:
            report.score(case.id, decision, case.expect[decision], f"error: {exc}", ok=False)
        return
    _judge(case, report, body=body, tasks=tasks, opened=opened)


def _cast(account: Account, case: Case) -> None:
    """The owner (in the case's time zone) and every user of CAST who sends one of the case's messages."""
    senders = {handle_key(str(message["from"])) for message in case.messages}
    for person in CAST:
        handles = {handle_key(person["email"]), *map(handle_key, person["handles"].values())}
        if person is not OWNER and not senders & handles:
            continue
        user = user_get_or_provision(account=account, email=person["email"], first_name=person["first_name"],
                                     last_name=person["last_name"])
        if person is OWNER:
            user_update(user=user, timezone=case.timezone)
        for type_, value in person["handles"].items():
            identifier_create(account=account, user=user, type=type_, value=value, verified=True)


def _message_body(message: dict) -> dict:
    """What a gateway posts: email recipients as to/cc/subject, other platforms' as participants."""
    metadata = {"from": message["from"], "sentAt": message.get("time", "")}
    if message["platform"] == "email":
        metadata.update(to=message.get("to", []), cc=message.get("cc", []), subject=message.get("subject", ""))
    else:
        metadata["participants"] = [message["from"], *message.get("to", []), *message.get("cc", [])]
    return {"content": message["content"], "platform": message["platform"], "metadata": metadata}


def _call(client: APIClient, method: str, path: str, data: dict | None = None) -> dict:
    response = getattr(client, method)(path, data, format="json") if data is not None else getattr(client, method)(path)
    if response.status_code >= 300:
        raise _CallFailed(f"{method.upper()} {path} answered {response.status_code}: {response.content[:300]!r}")
    return response.json()


def _judge(case: Case, report: EvaluationReport, *, body: dict, tasks: list[dict], opened: set[str]) -> None:
    task = tasks[0] if tasks else None
    continued = bool(tasks) and all(item["id"] in opened for item in tasks)
    actual = {
        "ignore": bool(body.get("ignored")),
        "suppressed": bool(body.get("suppressed")),
        "route": "none" if not tasks else "continue" if continued else "new",
        "skill": task["type"] if task else None,
        "status": None if task is None else task["status"] if continued else _created_status(task),
        "recipients": _recipients(body["message"]),
    }
    for decision in LABELLED:
        if decision not in case.expect:
            continue
        expected = case.expect[decision]
        if decision == "status" and isinstance(expected, list):
            report.score(case.id, decision, expected, actual[decision], ok=actual[decision] in expected)
        elif decision == "recipients":
            report.score(case.id, decision, expected, actual[decision],
                         ok=_recipient_sets(expected) == _recipient_sets(actual[decision]))
        else:
            report.score(case.id, decision, expected, actual[decision])
    if body["message"]:
        content, platform = body["message"]["content"], body["message"]["platform"]
        report.score(case.id, REGISTER, f"{platform} register", content,
                     ok=reply_register_ok(content, platform=platform))


def _created_status(task: dict) -> str:
    created = next(activity for activity in task["activities"] if activity["type"] == "status_change")
    return created["metadata"].get("status", task["status"])


def _recipients(message: dict | None) -> dict | None:
    if message is None:
        return None
    return {key: message[key] for key in ("to", "cc") if key in message}


def _recipient_sets(recipients: dict | None):
    if recipients is None:
        return None
    return {key: frozenset(map(handle_key, values)) for key, values in recipients.items() if key == "to" or values}


_GREETING = re.compile(r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening))\b[^\n]*[,!]\s*\n", re.I)


def reply_register_ok(content: str, *, platform: str) -> bool:
    """An email reads as a letter: a greeting line and the assistant's signature. Elsewhere the reply is
    one short message: no greeting line, no signature, at most CONVERSATIONAL_LIMIT characters."""
    signed = content.rstrip().endswith(ASSISTANT["signature"])
    greeted = bool(_GREETING.match(content))
    if is_letter_platform(platform):
        return signed and greeted
    return not signed and not greeted and len(content) <= CONVERSATIONAL_LIMIT
