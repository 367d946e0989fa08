"""The words tasks are described with: their statuses and the rule for a task type.

Catalog templates describe the tasks they build (a type, a default status), and the catalog sits
below tasks_app in the dependency order (README, "Architecture"), so the vocabulary lives here and
tasks_app's Task uses it (`Task.Status` is `TaskStatus`).
"""
import re

from django.db import models


class TaskStatus(models.TextChoices):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    ON_HOLD = "on_hold"
    NEEDS_CLARIFICATION = "needs_clarification"


#: Task types are open-ended (the engine's skills, the catalog's templates) but must be slugs.
TASK_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TASK_TYPE_RULE = "must be a slug: lowercase letters, digits and underscores, starting with a letter, at most 64"
