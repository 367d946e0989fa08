"""`bench/run --quick --profile PATH`: where a request's time goes, with pyinstrument, in-process.

PATH may name seeded rows: {chat} (a chat with messages), {process_chat} (one ending on a user
message). GET unless --method says otherwise; the body for writes is --body (JSON, or @file).
"""
import json

from django.test import Client


def profile(ctx, path: str, *, method: str = "GET", body: str | None = None, count: int = 300,
            show_all: bool = False) -> str:
    from pyinstrument import Profiler

    path = path.format(chat=ctx.seeded.chat_id, process_chat=ctx.seeded.process_chat_ids[0])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {ctx.token()}")
    if body and body.startswith("@"):
        body = open(body[1:]).read()
    data = json.loads(body) if body else None

    def call():
        response = client.generic(method, path, data=json.dumps(data) if data is not None else b"",
                                  content_type="application/json")
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} answered {response.status_code}: {response.content[:300]!r}")

    for _ in range(5):
        call()
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(count):
        call()
    profiler.stop()
    return profiler.output_text(unicode=True, color=False, show_all=show_all)
