"""What the local engine understands of a message, as general rules over its words.

Measured by the labelled set in `conversations/evaluation/` (`manage.py evaluate_engine`): grow
these rules by the kind of phrasing they miss (a request form, a date form), never by a sentence of
the set.

- `detect_skill`: the intent, checked in a fixed order. A reminder is for the person asking
  ("remind me", "ping me at 5"); a follow-up acts on somebody else ("follow up with", "nudge him",
  "if Raj hasn't replied", "remind Raj"); travel names something to travel by or stay in; scheduling
  needs a meeting asked for (a meeting word with a verb that arranges or moves it, a length of time
  to find, "on my calendar", "meet"), so a mere mention of a past meeting is not a request. Calling
  work off ("you can stop chasing", "never mind") asks for nothing new.
- Said to a chat with open tasks (`continuation`): `calls_off` (work called off: "you can stop",
  "scratch that", "forget about the call", "cancel the hotel"; a meeting named by its time, "cancel my
  3pm", is a scheduling request instead), `named_skill` (which kind of task a message names: "that
  reminder", "the call"), `moves_meeting` ("push it to Thursday", "let's do 3pm instead", "bump it a
  week") and `names_place` (a place by its capitalised name: "a hotel in Porto" is another trip).
- `mentions_time`: a date, a time, or a time relative to now or to an event.
- `needs_clarification`: only what the engine cannot fill in itself. Scheduling and follow-ups
  have defaults (the next working days in the owner's hours; the owner's follow-up interval);
  a reminder needs its time and a trip its dates.
- `calls_on_assistant`: a group message that does not address the assistant by name still calls on
  it when it asks its assistant (or "the bot") for something; talking about it does not.
- The reply register: email is a letter (greeting, body, signature); every other platform gets one
  short message without either (`is_letter_platform`, `CONVERSATIONAL_LIMIT`).
"""
import re

from .types import Skill

#: The longest reply the local engine writes on a conversational platform (about two SMS segments).
CONVERSATIONAL_LIMIT = 320

_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
#: A weekday by name ("Friday", "fridays"), or abbreviated when a time, a date or the end of a phrase
#: follows ("Fri 3pm", "Sat, Dec 5", "on Thu"): a bare "Sun" or "Wed" before a word is a name or a verb.
_WEEKDAY = (r"((mon|tues|wednes|thurs|fri|satur|sun)days?"
            r"|(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\.?(?=\s*(\d|,|@|at\b|am\b|pm\b|morning\b|afternoon\b"
            r"|evening\b|night\b|$|[.!?;)])))")
_DURATION = r"(\d+\s*(-\s*)?(min|mins|minutes?|hours?|hrs?|hr|h)\b|an? (hour|half[- ]hour)|half an hour|some time|time)"
_WITH = r"(with|w/)"

_WHEN = re.compile(
    r"\b(today|tonight|tomorrow|tmrw|noon|midnight|morning|afternoon|evening|weekend|asap|eod|eow|cob)\b"
    rf"|\b{_WEEKDAY}\b"
    r"|\b(next|this|coming) (week|month|year|quarter)\b"
    rf"|\b{_MONTH} \d{{1,2}}(st|nd|rd|th)?\b"
    rf"|\b\d{{1,2}}(st|nd|rd|th)? (of )?{_MONTH}"
    r"|\bthe \d{1,2}(st|nd|rd|th)\b"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}(/\d{2,4})?\b"
    r"|\b\d{1,2}(:\d{2})? ?(am|pm)\b|\b\d{1,2}:\d{2}\b|\bat \d{1,2}\b"
    r"|\bin (a|an|one|two|three|a few|a couple of|\d+) (minutes?|mins?|hours?|days?|weeks?|months?)\b"
    r"|\b\d+ (min|mins|minutes?|hours?|days?) (before|after|prior)\b"
    r"|\b(early|mid|late|end of) " + _MONTH,
    re.I,
)

# -- intents, in the order they are checked --------------------------------------------------------
_REMINDER = re.compile(
    r"\bremind (me|us)\b|\breminders?\b|\bdon'?t let me forget\b|\bhelp me remember\b"
    r"|\bmake sure (i|we) (remember|don'?t forget)\b|\b(set|need) an alarm\b|\b(ping|text|nudge|alert|buzz|notify) (me|us)\b"
    r"|\bheads[- ]up\b",
    re.I,
)
_FOLLOWUP = re.compile(
    r"\bfollow(ing)?[\s-]?ups?\b|\bchas(e|ing)\b|\bcircle back\b|\bnudge\b"
    r"|\b(bug|poke|prod) (him|her|them)\b|\bkeep (after|on) (him|her|them)\b|\bstay on (him|her|them|top of)\b"
    r"|\b(check (in|back)|touch base) with\b|\b(keep|stay) on \w+ (about|until)\b|\bwhether \w+ (replies|responds|answers|gets back|signs|sends)\b"
    r"|\bremind (?!me\b|us\b)\w+|\bping (?!me\b|us\b)\w+"
    r"|\b(has|have|had)(n'?t| not)( yet)? (replied|responded|answered|gotten back|got back|heard back|sent|signed)"
    r"|\bhaven'?t heard (back )?from\b"
    r"|\bif (he|she|they|\w+) (doesn'?t|don'?t|hasn'?t|haven'?t|does not|do not) (reply|respond|answer|get back)"
    r"|\bmake sure (?!i\b|we\b)\w+ (gets?|replies|reply|responds?|sends?) ",
    re.I,
)
_TRAVEL = re.compile(
    r"\bflights?\b|\bhotels?\b|\bairbnb\b|\btrains? (tickets?|to|from)\b|\bby train\b|\bitinerar(y|ies)\b"
    r"|\bboarding pass\b|\bcheck me in\b|\blayover\b|\bred[- ]eye\b|\brental car\b|\bcar rental\b|\brent a car\b"
    r"|\bcar (to|from) the (airport|station)\b|\b(taxi|cab|uber|lyft)\b|\bfly(ing)?\b|\btravel(l?ing)?\b"
    r"|\btrip\b",
    re.I,
)
_MEETING = (r"(meeting|call|chat|sync|1:1|1-on-1|one[- ]on[- ]one|catch[- ]?up|coffee|lunch|breakfast|dinner|demo"
            r"|interview|appointment|stand-?up|retro|kick-?off|session|onsite|huddle|walkthrough|workshop"
            r"|planning|presentation|conference room|room|invite|drinks)")
_ARRANGE = (r"(schedule|reschedule|set up|setup|book|arrange|organi[sz]e|line up|plan|cancel|move|push|shift|bump"
            r"|postpone|put|get|grab|find|invite|coordinate|block|hold|sort out)")
_SCHEDULING = re.compile(
    rf"\b{_ARRANGE}\b[^.?!\n]{{0,40}}?\b{_MEETING}s?\b"  # set up a call, cancel tomorrow's meeting
    rf"|\b{_ARRANGE}\b[^.?!\n]{{0,25}}?\b(a |an |some )?(time|slot|window|{_DURATION})\b"  # find us 30 minutes
    rf"|\b{_DURATION} {_WITH}"  # 45 minutes with Raj, 1 hr w/ the chair
    r"|\b(on|onto|in) (my|the|our|his|her|their) (calendars?|diary)\b|\bon the books\b|\bpencil\b"
    r"|\b(clear|free up) (my|the|our) (calendar|diary|schedule|morning|afternoon|evening|day)\b"
    r"|\bget (me|us|him|her|them) in with\b"
    r"|\breschedul\w*|\bschedule (a|an|the|this|it|that|something|one|them|my|our|some|us|me)\b"
    r"|\b(move|push|shift|bump|cancel|postpone)\b[^.?!\n]{0,20}?\b\d{1,2}(:\d{2})? ?(am|pm)?\b"  # push my 3pm
    r"|(?<!nice to )(?<!great to )(?<!good to )(?<!pleasure to )\bmeet\b"
    r"(?! (the|our|your|my|this|that) (deadline|target|goal|requirement|expectation)s?)"  # meet as arranging
    r"|\bset (something|it|this|that|one|a time) up\b"
    rf"|\b{_MEETING}s? (on |this |next )?({_WEEKDAY}|tomorrow|today|tonight|next week|this week)\b"
    rf"|\b(is|are|am) (\w+ )?(available|free) (for|to|on|at|tomorrow|today|this|next|{_WEEKDAY}\b)"
    r"|\bavailability\b"
    rf"|\b{_MEETING} with\b",
    re.I,
)
#: A question about what already happened ("what did we decide in yesterday's meeting?") asks for an
#: answer, not for a meeting: the weaker scheduling signals do not count in it.
_PAST_QUESTION = re.compile(r"\b(what|how|who|why|when|where) (did|was|were|had)\b|\bdid (we|you|they|i)\b", re.I)
_STRONG_SCHEDULING = re.compile(rf"\b(schedule|reschedule|set up|book|arrange|line up)\b[^.?!\n]{{0,40}}?"
                                rf"\b{_MEETING}s?\b|\breschedul\w*", re.I)

#: "a follow-up call" is a meeting to arrange, not a follow-up to send.
_FOLLOW_UP_MEETING = re.compile(rf"\bfollow[\s-]?up {_MEETING}", re.I)

#: A reminder sent to somebody else is a follow-up ("send Lena a reminder about the invoice").
_REMINDER_FOR_OTHERS = re.compile(r"\b(send|give|shoot|drop) (?!me\b|us\b)\w+ an? (reminder|nudge|note)\b", re.I)

_INTENTS = (
    (Skill.FOLLOWUPS, _REMINDER_FOR_OTHERS),
    (Skill.REMINDERS, _REMINDER),
    (Skill.SCHEDULING, _FOLLOW_UP_MEETING),
    (Skill.FOLLOWUPS, _FOLLOWUP),
    (Skill.TRAVEL, _TRAVEL),
    (Skill.SCHEDULING, _SCHEDULING),
)

#: A reminder needs its time, a trip its dates; scheduling and follow-ups have the owner's defaults.
_NEEDS_WHEN = frozenset({Skill.REMINDERS, Skill.TRAVEL})

_ROLE = r"(assistant|bot|\bea\b)"
_ASKS_ROLE = re.compile(
    rf"\b(can|could|would|will) (the|my|our) {_ROLE}"
    rf"|\b(the|my|our) {_ROLE}\b[^.?!\n]{{0,40}}?\b(will|to|can|could|please)\b"
    rf"|^\s*@?{_ROLE}\b[,:]|\b{_ROLE}\b[,:]? please\b",
    re.I,
)
_ROLE_WORD = re.compile(rf"\b{_ROLE}\b", re.I)

#: Calling work off is not a new request ("he sent it, you can stop chasing"; "never mind").
_CALL_OFF = re.compile(r"\b(stop|quit) (chasing|following|reminding|nudging|pinging|looking)\b"
                       r"|\bno (longer )?need to\b|\b(don'?t|do not) (need to|bother)\b|\bnever ?mind\b", re.I)


#: Work called off in a chat with open tasks: `_CALL_OFF`, or what only makes sense about a task in hand
#: ("you can stop", "scratch that", "forget it", "cancel the hotel", "the trip is off").
_CALLED_OFF = re.compile(
    r"\byou can stop\b|\bscratch that\b|\bforget (it|that|this|about)\b|\b(don'?t|do not) worry about\b"
    r"|\bno need (to|for)\b|\b(call|calling) (it|that|this|the \w+) off\b|\bcall off\b"
    r"|\b(cancel|drop|scrap|kill) (it|that|this|the (\w+[ -])?(reminder|follow[ -]?ups?|meeting|call|trip|flights?"
    r"|hotel|booking|request|whole thing|" + _MEETING[1:-1] + r")s?)\b(?![^.?!\n]{0,20}\b(to|for) \w*\d)"
    r"|\b(trip|meeting|call|it) is (off|cancell?ed)\b",
    re.I)
_NAMES_REMINDER = re.compile(r"\breminders?\b|\bremind(ing)?\b", re.I)
_NAMES_FOLLOWUP = re.compile(r"\bfollow(ing)?[\s-]?ups?\b|\bchas(e|ing)\b|\bnudg(e|ing)\b|\bpinging\b", re.I)
_NAMES_MEETING = re.compile(rf"\b{_MEETING}s?\b", re.I)
#: A meeting moved: a verb that moves it, or another time offered "instead".
_MOVES = re.compile(
    r"\b(move|moving|push|pushing|shift|bump|reschedule|postpone|bring (it |that |this )?forward|pull (it |that )?in"
    r"|change (it|that|the (day|time|date))|switch (it|that)|make it|do it|let'?s do|can we do|could we do|how about)\b"
    r"|\binstead\b",
    re.I)
#: A place by its name ("in Porto", "to New York"); a month or a weekday is a date, not a place.
_PLACE = re.compile(r"\b(?:to|in|at|for) ((?:[A-Z][a-z]+)(?: [A-Z][a-z]+)?)")
_NOT_PLACES = re.compile(rf"^({_MONTH}|(mon|tues|wednes|thurs|fri|satur|sun)day|the|my|our|a|an)\b", re.I)


def calls_off(text: str) -> bool:
    """The message calls work off ("never mind", "you can stop", "cancel the hotel"). A meeting named by a
    time ("cancel my 3pm") is not called off this way: it is a scheduling request."""
    return bool(_CALL_OFF.search(text) or _CALLED_OFF.search(text))


def named_skill(text: str) -> str | None:
    """The kind of task a message talks about: a reminder, a follow-up, a trip, a meeting; None: it
    names none ("never mind", "forget it")."""
    for skill, pattern in ((Skill.REMINDERS, _NAMES_REMINDER), (Skill.FOLLOWUPS, _NAMES_FOLLOWUP),
                           (Skill.TRAVEL, _TRAVEL), (Skill.SCHEDULING, _NAMES_MEETING)):
        if pattern.search(text):
            return skill
    return None


def moves_meeting(text: str) -> bool:
    """The message moves a meeting ("push it to Thursday", "let's do 3pm instead", "bump it a week")."""
    return bool(_MOVES.search(text))


def names_place(text: str) -> list[str]:
    """The places a message names by their capitalised names ("a hotel in Porto": ["Porto"])."""
    return [place for place in _PLACE.findall(text) if not _NOT_PLACES.match(place)]


def detect_skill(text: str) -> str | None:
    """The skill a message asks for, or None (see the module docstring for the order)."""
    if _CALL_OFF.search(text):
        return None
    for skill, pattern in _INTENTS:
        if skill == Skill.SCHEDULING and _PAST_QUESTION.search(text) and not _STRONG_SCHEDULING.search(text):
            continue
        if pattern.search(text):
            return skill
    return None


def mentions_time(text: str) -> bool:
    return bool(_WHEN.search(text))


def needs_clarification(skill: str, text: str) -> bool:
    """True when the request lacks what only the person asking can tell: a reminder's time, a trip's dates."""
    return skill in _NEEDS_WHEN and not mentions_time(text)


def request_sentence(text: str) -> str:
    """The sentence that carries the request (the first one with a skill), else the first sentence:
    "Hi, this is Raj from Globex. Could we set up a call?" is about the call."""
    sentences = [part.strip() for part in re.split(r"(?<=[.!?])\s+|\n+", text) if part.strip()]
    return next((sentence for sentence in sentences if detect_skill(sentence)), sentences[0] if sentences else "")


def calls_on_assistant(text: str) -> bool:
    """A group message not addressed to the assistant by name still is when it asks its assistant (or
    the bot) to act: "looping in my assistant to find a time", "can the bot book it?". Talking about
    it ("my assistant is a lifesaver") is not a call."""
    if not _ROLE_WORD.search(text):
        return False
    return bool(_ASKS_ROLE.search(text)) or detect_skill(text) is not None


_THANKS = re.compile(r"\b(thanks|thank you|thx|ty|cheers|appreciate it|much appreciated)\b|[👍🙏]", re.I)
_HELLO = re.compile(r"^\W*(hi|hello|hey|good (morning|afternoon|evening)|how'?s it going|how are you)\b", re.I)


def small_talk(text: str) -> str | None:
    """"thanks" or "hello" for a message that only thanks or greets (no request in it), else None."""
    if detect_skill(text) is not None:
        return None
    if _THANKS.search(text):
        return "thanks"
    return "hello" if _HELLO.search(text) else None


def is_letter_platform(platform: str) -> bool:
    """Email is written as a letter; every other platform is a conversation."""
    return platform == "email"
