"""The availability engine: plain functions over intervals, no ORM (`intervals`, `slots`).

The services load the data (calendars_app.selectors.participants_busy_load) and hand it here, so every
rule can be tested exhaustively without a database.
"""
