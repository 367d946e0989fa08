"""What chat processing asks of the apps above conversations, without importing them."""
from dataclasses import dataclass

from tskr.hooks import Hook


@dataclass(frozen=True)
class StepResult:
    """What continuing an open task did, for the process answer: the task, the message its agent sent
    (the reply body's shape: `{id, to, cc?, subject?, content, platform}`), or the approval holding it."""

    task_id: str
    message: dict | None = None
    approval_id: str | None = None

task_requested = Hook("task_requested", "The engine asked for a task while answering a chat message: create it "
                                        "and answer it (tasks_app's `task_create`, with the same keywords; its "
                                        "`task.created` goes into `events`, which processing emits with its own). "
                                        "Runs in the transaction that writes the answer.")

tasks_presented = Hook("tasks_presented", "Tasks a processing created, as the API lists them (tasks_app answers "
                                          "`[task data]` for `account` and `task_ids`, in that order), for the "
                                          "streamed `task` events.")

message_received = Hook("message_received", "An inbound (user) `message` was added to its chat: the apps above react "
                                            "to who wrote (tasks_app stops the follow-ups waiting for that person). "
                                            "Runs in the transaction that adds it.")

open_tasks = Hook("open_tasks", "The chat's open tasks as the engine sees them (tasks_app answers a tuple of "
                                "`engine.OpenTask`, newest first, for `account` and `chat`; the candidate slots of "
                                "the one waiting for a reply `with_candidates`), so a message may continue one.")

task_step = Hook("task_step", "The engine decided the latest message continues an open task of the chat: act on "
                              "it (tasks_app answers a `StepResult` for `account`, `chat`, `message` and `step`, or "
                              "None when the step names no open task of this chat). Runs in the transaction that "
                              "writes the answer.")
