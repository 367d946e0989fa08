"""The task agent: what a task created from a chat does by itself (issue 19).

- `plan`: a scheduling request's participants, meeting shape and window, read from the request.
- `texts`: what the agent says (proposals, confirmations, questions), written from validated data.
- `steps`: the writes: the first step, continuing a task from a chat message, booking, confirming.
"""
from .steps import (
    AgentBusy,
    WaitingFor,
    approval_decided,
    open_tasks_for_chat,
    task_requested,
    task_start,
    task_step_apply,
    travel_brief,
)

__all__ = ["AgentBusy", "WaitingFor", "approval_decided", "open_tasks_for_chat", "task_requested", "task_start", "task_step_apply",
           "travel_brief"]
