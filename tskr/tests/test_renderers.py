"""The envelope renderer writes exactly the bytes DRF's JSON renderer would, faster."""
import datetime
import decimal
import uuid
from types import SimpleNamespace

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from tskr.api.renderers import Envelope, EnvelopeRenderer

VIEW = SimpleNamespace(envelope_key="task", envelope_list_key="tasks")


def context(status: int = 200) -> dict:
    return {"response": SimpleNamespace(status_code=status), "view": VIEW}


def drf(body, media_type=None) -> bytes:
    return JSONRenderer().render(body, media_type, {})


AWKWARD = {
    "at": datetime.datetime(2026, 2, 11, 10, 0, 0, 123456, tzinfo=datetime.timezone.utc),
    "day": datetime.date(2026, 2, 11), "time": datetime.time(9, 30), "amount": decimal.Decimal("12.50"),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"), "label": gettext_lazy("Bad request"),
    "text": "line\u2028separator\u2029and é ✓", "nested": [{"n": 1, "f": 0.5, "none": None, "yes": True}],
}


def test_a_body_with_dates_decimals_uuids_lazy_text_and_line_separators_matches_drf():
    assert EnvelopeRenderer().render(AWKWARD, None, context()) == drf({"ok": True, "task": AWKWARD})
    assert b"\\u2028" in EnvelopeRenderer().render(AWKWARD, None, context())


@pytest.mark.parametrize("data, expected", [
    ([{"id": 1}], {"ok": True, "tasks": [{"id": 1}]}),
    (Envelope(tasks=[], page=1, total=0), {"ok": True, "tasks": [], "page": 1, "total": 0}),
])
def test_lists_and_envelopes_are_wrapped_as_before(data, expected):
    assert EnvelopeRenderer().render(data, None, context()) == drf(expected)


def test_errors_are_not_wrapped():
    error = {"error": "Not found", "error_code": "not_found"}
    assert EnvelopeRenderer().render(error, None, context(404)) == drf(error)


@pytest.mark.parametrize("body", [{1: "integer key"}, {"big": 2 ** 70}])
def test_what_orjson_refuses_is_rendered_by_drf(body):
    assert EnvelopeRenderer().render(body, None, context(400)) == drf(body)


def test_an_indented_rendering_is_drfs():
    media_type = "application/json; indent=2"
    assert EnvelopeRenderer().render(AWKWARD, media_type, context(400)) == drf(AWKWARD, media_type)
