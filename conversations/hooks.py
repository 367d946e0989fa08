"""What chat processing asks of the apps above conversations, without importing them."""
from tskr.hooks import Hook

task_requested = Hook("task_requested", "The engine asked for a task while answering a chat message: create it "
                                        "and answer it (tasks_app's `task_create`, with the same keywords). Runs "
                                        "in the transaction that writes the answer.")

tasks_presented = Hook("tasks_presented", "Tasks a processing created, as the API lists them (tasks_app answers "
                                          "`[task data]` for `account` and `task_ids`, in that order), for the "
                                          "streamed `task` events.")

message_received = Hook("message_received", "An inbound (user) `message` was added to its chat: the apps above react "
                                            "to who wrote (tasks_app stops the follow-ups waiting for that person). "
                                            "Runs in the transaction that adds it.")
