from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "conversations"

    def ready(self):
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from admin_catalog.models import Agent, Skill
        from tskr.infra.health import register_check

        from .engine import engine_status
        from .engine.context import agent_configs

        register_check("ai", engine_status)
        # the cached agent configs go with any change of the catalog they are read from, whoever makes it
        # (the API's services, the staff screens, the catalog's seed)
        for model in (Agent, Skill):
            post_save.connect(agent_configs.forget_all, sender=model, dispatch_uid=f"agent-configs-{model.__name__}")
            post_delete.connect(agent_configs.forget_all, sender=model,
                                dispatch_uid=f"agent-configs-{model.__name__}-deleted")
        m2m_changed.connect(agent_configs.forget_all, sender=Agent.skills.through, dispatch_uid="agent-configs-skills")
