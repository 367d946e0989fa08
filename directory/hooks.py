"""What directory lets the apps above it do when its rows change, without importing them."""
from tskr.hooks import Hook

identifier_deleted = Hook("identifier_deleted", "An identifier of `account_id` and the rows that cascade from "
                                                "it (OAuth grants, calendar links) were deleted.")
