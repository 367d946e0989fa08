"""The one renderer that wraps every successful body in the contract's envelope."""
from rest_framework.renderers import JSONRenderer


class Envelope(dict):
    """A success body whose keys are already the envelope's top-level keys (after `"ok": true`).

    For the contract's irregular shapes: paginated lists, `DELETE /assistants/:id`, process results.
    """


class EnvelopeRenderer(JSONRenderer):
    """`{"ok": true, <key>: data}`, the key taken from the view (`envelope_key` / `envelope_list_key`)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        renderer_context = renderer_context or {}
        response = renderer_context.get("response")
        view = renderer_context.get("view")
        if response is None or response.status_code >= 400 or view is None:
            return super().render(data, accepted_media_type, renderer_context)
        if isinstance(data, Envelope):
            body = {"ok": True, **data}
        elif isinstance(data, list):
            body = {"ok": True, getattr(view, "envelope_list_key", "items"): data}
        else:
            body = {"ok": True, getattr(view, "envelope_key", "data"): data}
        return super().render(body, accepted_media_type, renderer_context)
