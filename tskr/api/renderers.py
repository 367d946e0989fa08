"""The one renderer that wraps every successful body in the contract's envelope."""
import orjson
from rest_framework.renderers import JSONRenderer


class Envelope(dict):
    """A success body whose keys are already the envelope's top-level keys (after `"ok": true`).

    For the contract's irregular shapes: paginated lists, `DELETE /assistants/:id`, process results.
    """


class EnvelopeRenderer(JSONRenderer):
    """`{"ok": true, <key>: data}`, the key taken from the view (`envelope_key` / `envelope_list_key`).

    Encoded by orjson, much faster than the standard library on a list page (bench/README.md), to the same
    bytes DRF's renderer writes: what orjson cannot encode natively (dates and times among them, so
    that they keep DRF's 'Z' form) goes through DRF's encoder, U+2028 and U+2029 are escaped, and a
    body orjson refuses (a key that is not a string, an integer over 64 bits) is left to DRF.
    An indented rendering (`Accept: application/json; indent=2`) is DRF's too.
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        renderer_context = renderer_context or {}
        response = renderer_context.get("response")
        view = renderer_context.get("view")
        if response is not None and response.status_code < 400 and view is not None:
            if isinstance(data, Envelope):
                data = {"ok": True, **data}
            elif isinstance(data, list):
                data = {"ok": True, getattr(view, "envelope_list_key", "items"): data}
            else:
                data = {"ok": True, getattr(view, "envelope_key", "data"): data}
        if data is None or self.get_indent(accepted_media_type, renderer_context) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            content = orjson.dumps(data, default=_drf_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        return content.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")


_drf_default = JSONRenderer.encoder_class().default
