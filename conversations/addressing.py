"""Who a message reached and who a reply goes to, from the metadata a gateway posts with it.

Email: `metadata.from`, `metadata.to`, `metadata.cc`, `metadata.subject` (addresses may be
`"Name <addr>"`). Other platforms: `metadata.from` and `metadata.participants` (phones, handles...).
Handles are compared case-insensitively, phones on their E.164 form (`+1 415 555 0100` is
`+14155550100`); emails are reduced to the bare address. The assistant is never one of the humans.
"""
import re
from dataclasses import dataclass

from directory.phones import phone_key

from .models import Message

_ANGLE = re.compile(r"<([^<>]+)>")
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


def handle(raw: str) -> str:
    """`"Bob <Bob@Acme.test>"` -> `bob@acme.test`; any other handle trimmed and lower-cased."""
    raw = str(raw).strip()
    inside = _ANGLE.search(raw)
    return (inside.group(1) if inside else raw).strip().lower()


def handles(value) -> list[str]:
    """A string (comma-separated allowed) or a list of strings -> handles, in order, without repeats."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    seen: list[str] = []
    for item in items:
        found = handle(item) if str(item).strip() else ""
        if found and found not in seen:
            seen.append(found)
    return seen


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
    assistant_handles = {h for h in (assistant_email.lower(), assistant_name.lower()) if h}
    sender = handle(metadata["from"]) if metadata.get("from") else (message.sender.email if message.sender else None)
    if sender in assistant_handles:
        sender = None
    if message.platform == Message.Platform.EMAIL:
        recipients = handles(metadata.get("to")) + handles(metadata.get("cc"))
        in_to = bool(assistant_email) and assistant_email.lower() in handles(metadata.get("to"))
    else:
        recipients = handles(metadata.get("participants"))
        in_to = False
    others = _other_humans(recipients, sender=sender, assistant_handles=assistant_handles)
    subject = str(metadata.get("subject") or "")
    return Addressing(platform=message.platform, sender=sender, others=others,
                      directly_addressed=in_to or _mentions(message.content + "\n" + subject, assistant_email,
                                                            assistant_name),
                      subject=subject)


def _other_humans(recipients: list[str], *, sender: str | None, assistant_handles: set[str]) -> tuple[str, ...]:
    """Recipients other than the sender and the assistant, each person once (a phone in any spelling)."""
    seen = {phone_key(sender) or sender} if sender else set()
    others = []
    for recipient in recipients:
        key = phone_key(recipient) or recipient
        if recipient not in assistant_handles and key not in seen:
            seen.add(key)
            others.append(recipient)
    return tuple(others)


def _mentions(text: str, email: str, name: str) -> bool:
    if email and email.lower() in text.lower():
        return True
    return bool(name) and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.I) is not None
