from django.apps import AppConfig


class AdminCatalogConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "admin_catalog"
