"""Writes for the directory: memories, contacts (with bulk import), identifiers and preferences.

One module per domain; every write is imported from here, as callers use it
(`from directory import services`, `from directory.services import x`).
"""
from .contacts import (
    MAX_IMPORT_CONTACTS, ContactsImportResult, contact_create, contact_delete, contact_update, contacts_bulk_import,
)
from .identifiers import (
    identifier_create, identifier_delete, identifier_link_login_email, identifier_make_primary, identifier_normalize,
    identifier_update,
)
from .memories import memory_create, memory_delete, memory_update
from .preferences import preferences_set

__all__ = [
    "ContactsImportResult", "MAX_IMPORT_CONTACTS", "contact_create", "contact_delete", "contact_update",
    "contacts_bulk_import", "identifier_create", "identifier_delete", "identifier_link_login_email",
    "identifier_make_primary", "identifier_normalize", "identifier_update", "memory_create", "memory_delete",
    "memory_update", "preferences_set",
]
