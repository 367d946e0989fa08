"""Baseline (a): a bare WSGI callable running the endpoints' SQL through psycopg, answering JSON.

No framework at all: one persistent connection per worker process (gunicorn's sync workers serve
one request at a time), the same queries the API runs for its data, the same response shape.
"""
import json
import os
from datetime import datetime
from urllib.parse import parse_qs

import psycopg

_connection: psycopg.Connection | None = None


def _cursor() -> psycopg.Cursor:
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    return _connection.cursor()


def _default(value):
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    raise TypeError(type(value))


def _rows(cursor: psycopg.Cursor) -> list[dict]:
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _messages(query: dict, chat_id: str) -> tuple[int, dict]:
    account_id = os.environ["BENCH_ACCOUNT_ID"]
    page = int(query.get("page", 1))
    per_page = min(int(query.get("perPage", 20)), 100)
    with _cursor() as cursor:
        cursor.execute("SELECT 1 FROM conversations_chat WHERE account_id = %s AND id = %s LIMIT 1",
                       (account_id, chat_id))
        if cursor.fetchone() is None:
            return 404, {"error": "Chat not found", "error_code": "not_found"}
        cursor.execute("SELECT COUNT(*) FROM conversations_message WHERE account_id = %s AND chat_id = %s",
                       (account_id, chat_id))
        total = cursor.fetchone()[0]
        cursor.execute(
            'SELECT id, role, platform, content, files, "timestamp", metadata, updated_at AS "updatedAt" '
            'FROM conversations_message WHERE account_id = %s AND chat_id = %s '
            'ORDER BY "timestamp" ASC, id ASC LIMIT %s OFFSET %s',
            (account_id, chat_id, per_page, (page - 1) * per_page))
        rows = _rows(cursor)
    return 200, {"ok": True, "messages": rows, "page": page, "perPage": per_page, "total": total}


def _chats(query: dict) -> tuple[int, dict]:
    account_id = os.environ["BENCH_ACCOUNT_ID"]
    page = int(query.get("page", 1))
    per_page = min(int(query.get("perPage", 20)), 100)
    with _cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM conversations_chat WHERE account_id = %s AND status = 'active'",
                       (account_id,))
        total = cursor.fetchone()[0]
        cursor.execute(
            "SELECT c.id, c.title, c.status, c.message_count, c.assistant_id, a.name, a.email, c.metadata, "
            "c.last_message_at, c.created_at, c.updated_at FROM conversations_chat c "
            "LEFT JOIN accounts_assistant a ON a.id = c.assistant_id "
            "WHERE c.account_id = %s AND c.status = 'active' "
            "ORDER BY COALESCE(c.last_message_at, c.created_at) DESC, c.id DESC LIMIT %s OFFSET %s",
            (account_id, per_page, (page - 1) * per_page))
        rows = [{"id": r[0], "title": r[1], "status": r[2], "messageCount": r[3],
                 "assistant": None if r[4] is None else {"id": r[4], "name": r[5], "email": r[6]},
                 "metadata": r[7], "lastMessageAt": r[8], "createdAt": r[9], "updatedAt": r[10]}
                for r in cursor.fetchall()]
    return 200, {"ok": True, "chats": rows, "page": page, "perPage": per_page, "total": total}


def application(environ, start_response):
    path = environ["PATH_INFO"].removeprefix("/__bench/raw")
    query = {key: values[-1] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    parts = path.strip("/").split("/")
    if parts == ["chats"]:
        status, body = _chats(query)
    elif len(parts) == 3 and parts[0] == "chats" and parts[2] == "messages":
        status, body = _messages(query, parts[1])
    else:
        status, body = 404, {"error": "No such baseline", "error_code": "not_found"}
    data = json.dumps(body, default=_default).encode()
    start_response(f"{status} {'OK' if status == 200 else 'Not Found'}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
