from django.apps import AppConfig


class AdminCatalogConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "admin_catalog"
    verbose_name = "Catalog"  # the staff screens' heading (the default would read "Admin_Catalog")
