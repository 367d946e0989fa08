"""What TSKR runs on, and how it reaches it: strict environment parsing, the Redis connection, locks,
rate limiting, public IDs, SQL aggregates for both databases, and the health of each dependency."""
