"""Who a message reached and who a reply goes to, from the metadata a gateway posts with it.

Email: `metadata.from`, `metadata.to`, `metadata.cc`, `metadata.subject` (addresses may be
`"Name <addr>"`). Other platforms: `metadata.from` and `metadata.participants` (phones, handles...).
Handles are compared case-insensitively (phones on their E.164 form: `+1 415 555 0100` is
`+14155550100`) but replied to as the gateway spelled them: a Slack id is only valid as `U1`, never
`u1`. Emails are reduced to the bare address and lower-cased (ASCII only, as logins are). The
assistant is never one of the humans.
"""
import re
import string
from dataclasses import dataclass

from directory.phones import phone_key

from .models import Message

_ANGLE = re.compile(r"<([^<>]+)>")
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def handle_key(value: str) -> str:
    """What two spellings of one handle have in common (`U1` and `u1`, `+1 415 555 0100` and
    `+14155550100`): compare these, reply with the handle."""
    return phone_key(value) or value.translate(_ASCII_LOWER)


def handle(raw: str) -> str:
    """`"Bob <Bob@Acme.test>"` -> `bob@acme.test`; any other handle trimmed and kept as sent."""
    raw = str(raw).strip()
    inside = _ANGLE.search(raw)
    value = (inside.group(1) if inside else raw).strip()
    return handle_key(value) if _EMAIL.fullmatch(value) else value


def handles(value) -> list[str]:
    """A string (comma-separated allowed) or a list of strings -> handles, in order, without repeats
    (the first spelling of a handle is kept)."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    return _distinct(handle(item) for item in items if str(item).strip())


def _distinct(spellings, *, excluding: frozenset[str] = frozenset()) -> list[str]:
    """One spelling per handle (the first), leaving out the handles whose key is in `excluding`."""
    found: dict[str, str] = {}
    for spelled in spellings:
        if spelled and handle_key(spelled) not in excluding:
            found.setdefault(handle_key(spelled), spelled)
    return list(found.values())


def subject_reply(subject: str) -> str:
    """"Re: " once: a subject already starting with Re: (any case) is kept as it is."""
    subject = (subject or "").strip()
    return subject if re.match(r"^re\s*:", subject, re.I) else f"Re: {subject}".strip()


@dataclass(frozen=True)
class Addressing:
    """The humans of one inbound message, split as a reply needs them."""

    platform: str
    sender: str | None
    #: Email: to + cc humans other than the sender; other platforms: participants other than the sender.
    others: tuple[str, ...]
    directly_addressed: bool
    subject: str = ""

    @property
    def audience(self) -> int:
        return max(1, len(self.others) + (1 if self.sender else 0))

    def reply_recipients(self, *, sender_only: bool) -> dict:
        """`to`/`cc` of the reply: email answers the sender and copies the rest (reply-all), other
        platforms address everyone; `sender_only` (a clarification request) drops everyone else."""
        sender = [self.sender] if self.sender else []
        others = [] if sender_only else list(self.others)
        if self.platform == Message.Platform.EMAIL:
            return {"to": sender, "cc": others, "subject": subject_reply(self.subject)}
        return {"to": sender + others}


def analyse(message: Message, *, assistant_email: str, assistant_name: str) -> Addressing:
    """The sender, the other humans and whether the assistant is addressed directly."""
    metadata = message.metadata or {}
    assistant_keys = frozenset(handle_key(h) for h in (assistant_email, assistant_name) if h)
    sender = handle(metadata["from"]) if metadata.get("from") else (message.sender.email if message.sender else None)
    if sender and handle_key(sender) in assistant_keys:
        sender = None
    if message.platform == Message.Platform.EMAIL:
        recipients = handles(metadata.get("to")) + handles(metadata.get("cc"))
        in_to = bool(assistant_email) and handle_key(assistant_email) in map(handle_key, handles(metadata.get("to")))
    else:
        recipients = handles(metadata.get("participants"))
        in_to = False
    others = _distinct(recipients, excluding=assistant_keys | {handle_key(sender)} if sender else assistant_keys)
    subject = str(metadata.get("subject") or "")
    return Addressing(platform=message.platform, sender=sender, others=tuple(others),
                      directly_addressed=in_to or _mentions(message.content + "\n" + subject, assistant_email,
                                                            assistant_name),
                      subject=subject)


def _mentions(text: str, email: str, name: str) -> bool:
    if email and email.lower() in text.lower():
        return True
    return bool(name) and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.I) is not None
