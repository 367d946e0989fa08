"""The HTTP layer every app's `api/` builds on: the scoped base viewset, the router, the envelope
renderer and pagination, the strict JSON parser, permissions, serializer fields and helpers, the
FilterSet base, fast list rows, OpenAPI generation, the error handler, middleware, Server-Sent
Events and idempotency keys."""
