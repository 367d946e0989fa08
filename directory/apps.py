from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "directory"

    def ready(self):
        from accounts import hooks as account_hooks

        from .selectors import user_by_login_alias
        from .services import identifier_link_login_email

        account_hooks.user_created.register(identifier_link_login_email)
        account_hooks.user_login_alias.register(user_by_login_alias)
