"""Phone numbers as TSKR matches them: the E.164 form, whatever the spelling a client or gateway used.

`+1 (415) 555-0100`, `+1-415-555-0100` and `+14155550100` are one number; an identifier keeps the
spelling it was created with for display, and stores this key for uniqueness and lookups.
"""
import re

import phonenumbers

#: What a spelled phone number is made of: +, digits, letters (vanity numbers, "ext"), separators.
#: The library alone extracts a number from surrounding text ("+1 415 555 0100!!"), which we refuse.
_PHONE_CHARACTERS = re.compile(r"\+[0-9A-Za-z ().\-/#;=,]+")


def phone_key(value: str) -> str | None:
    """The E.164 form of `value` (with `;ext=N` when it names an extension), or None when it is not a phone.

    Numbers must be international (a leading + and the country code): without a region there is no
    telling which country `415 555 0100` belongs to. "Possible" (the right length for the country)
    rather than "valid" (an assigned range): the contract's own example, `+1-555-0789`, is a
    fictional number, and ranges change faster than the library is upgraded.
    """
    if not isinstance(value, str) or not _PHONE_CHARACTERS.fullmatch(value.strip()):
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    key = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{key};ext={number.extension}" if number.extension else key


def handle_keys(handle: str) -> list[str]:
    """The stored identifier values a handle from a gateway can match: itself, and its E.164 form if a phone."""
    key = phone_key(handle)
    return [handle] if key is None or key == handle else [handle, key]
