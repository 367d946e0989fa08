"""What accounts lets the apps above it do at points of a user's life, without importing them.

directory answers for email identifiers (a new user's, and the login aliases a signed token proved);
calendars_app tidies the calendars a deleted user's identifiers left unlinked. Receivers register
in their app's `ready()`.
"""
from tskr.hooks import Hook

user_created = Hook("user_created", "`user` was just created; `proven_by_token` when a delegated token's "
                                    "email created it. Runs in the creating transaction.")
user_login_alias = Hook("user_login_alias", "`account`, `email` -> the user that email is a proven login alias "
                                            "of, or None. Asked when no user has the email as their own.")
user_deleted = Hook("user_deleted", "A user of `account_id` and the rows that cascade from it were deleted.")
