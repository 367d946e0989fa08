from rest_framework.metadata import BaseMetadata


class MinimalMetadata(BaseMetadata):
    """OPTIONS answers the view's name and description only: the OpenAPI document describes the rest."""

    def determine_metadata(self, request, view):
        return {"name": view.get_view_name(), "description": view.get_view_description()}
