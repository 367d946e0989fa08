from django.db.models import Count, Window

from tskr.api.pagination import EnvelopePagination


class WindowCountPagination(EnvelopePagination):
    """The same pages and body as `EnvelopePagination`, with the total read from the page itself.

    Each row of the page carries `COUNT(*) OVER ()`, so a non-empty page costs one query instead of a
    COUNT(*) and a SELECT. For child rows whose parent must exist (a chat's messages) a non-empty page
    also proves the parent is in the caller's account, so the parent lookup is skipped too. Only an empty
    page (an unknown parent, or a page past the end) asks the view for `check_parent()` (which raises the
    404) and runs the COUNT(*). Meant for short lists per parent: the window reads every matching row.

    Rows are `.values(*fields)` dicts, without the count column.
    """

    def paginate_queryset(self, queryset, request, view=None, *, fields: tuple[str, ...]):
        self.parse(request, view)
        offset = (self.page - 1) * self.per_page
        rows = list(queryset.values(*fields).annotate(window_total=Window(Count("*")))[offset:offset + self.per_page])
        if rows:
            self.total = rows[0]["window_total"]
            for row in rows:
                del row["window_total"]
            return rows
        if view is not None and hasattr(view, "check_parent"):
            view.check_parent()
        self.total = queryset.count()
        return []
