import json


def emit(command, payload: dict, text: str, as_json: bool) -> None:
    """Write a command's result: one JSON object with --json, a human line otherwise."""
    command.stdout.write(json.dumps(payload) if as_json else text)
