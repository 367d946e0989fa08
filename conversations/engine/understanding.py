"""What the local engine understands of a message: platform register (placeholder for the baseline run)."""
CONVERSATIONAL_LIMIT = 320


def is_letter_platform(platform: str) -> bool:
    return platform == "email"
