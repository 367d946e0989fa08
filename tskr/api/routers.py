from rest_framework.routers import SimpleRouter


class ApiRouter(SimpleRouter):
    """No trailing slashes (`/users/:id`), and PUT and PATCH both mean a partial update."""

    def __init__(self):
        super().__init__(trailing_slash=False)

    def get_method_map(self, viewset, method_map):
        mapping = super().get_method_map(viewset, method_map)
        if "put" in mapping and "patch" not in mapping and hasattr(viewset, mapping["put"]):
            mapping["patch"] = mapping["put"]
        return mapping
