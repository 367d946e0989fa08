"""What directory lets the apps above it do when its rows change, without importing them."""
from tskr.hooks import Hook

identifier_deleted = Hook("identifier_deleted", "An identifier of `account_id` and the rows that cascade from "
                                                "it (OAuth grants, calendar links) were deleted.")
preferences_changed = Hook("preferences_changed", "`skill`'s preferences of `identifier` were changed: the apps above "
                                                  "re-plan what follows them (tasks_app's meeting reminders). Runs in "
                                                  "the changing transaction.")
