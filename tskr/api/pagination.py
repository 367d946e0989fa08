"""The one pagination class: `page`/`perPage` query parameters, `page`, `perPage`, `total` in the body."""
from rest_framework.pagination import BasePagination

from ..exceptions import BadRequest
from .renderers import Envelope

MAX_PER_PAGE = 100


def parse_positive_int(raw: str | None, *, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a positive integer", error_code="invalid_pagination") from None
    if value < 1:
        raise BadRequest(f"{name} must be a positive integer", error_code="invalid_pagination")
    return value


class EnvelopePagination(BasePagination):
    """Offset pagination with an exact total. A page past the end is an empty list, not an error.

    Views may set `default_per_page` (the contract gives `/users` 50).
    """

    default_per_page = 20

    def parse(self, request, view=None) -> None:
        """`page` and `perPage` from the query string (400 `invalid_pagination` when not positive integers)."""
        self.page = parse_positive_int(request.query_params.get("page"), name="page", default=1)
        default = getattr(view, "default_per_page", self.default_per_page)
        self.per_page = min(parse_positive_int(request.query_params.get("perPage"), name="perPage", default=default),
                            MAX_PER_PAGE)
        self.list_key = getattr(view, "envelope_list_key", "items")

    def paginate_queryset(self, queryset, request, view=None, *, fields: tuple[str, ...] | None = None):
        """The page of `queryset`, or of `queryset.values(*fields)` rows: the total is counted on
        `queryset` as it is, so the joins that related `fields` add stay out of the COUNT."""
        self.parse(request, view)
        self.total = queryset.count()
        offset = (self.page - 1) * self.per_page
        if offset >= self.total:
            return []
        rows = queryset if fields is None else queryset.values(*fields)
        return list(rows[offset:offset + self.per_page])

    def get_paginated_response(self, data):
        from rest_framework.response import Response

        return Response(Envelope({self.list_key: data, "page": self.page, "perPage": self.per_page,
                                  "total": self.total}))

    def get_paginated_response_schema(self, schema):
        list_key = getattr(self, "schema_list_key", "items")  # set by tskr.api.openapi.EnvelopeAutoSchema
        return {
            "type": "object",
            "required": ["ok", list_key, "page", "perPage", "total"],
            "properties": {
                "ok": {"type": "boolean", "enum": [True]},
                list_key: schema,
                "page": {"type": "integer", "minimum": 1},
                "perPage": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                "total": {"type": "integer", "minimum": 0},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "page", "in": "query", "required": False, "description": "Page number (default 1)",
             "schema": {"type": "integer", "minimum": 1}},
            {"name": "perPage", "in": "query", "required": False,
             "description": f"Items per page (default {getattr(view, 'default_per_page', self.default_per_page)}, "
                            f"values above {MAX_PER_PAGE} are capped)",
             "schema": {"type": "integer", "minimum": 1}},
        ]
