import pytest

from directory.validation import ContactImportRowSerializer, contact_row_clean, row_fast_clean

WELL_FORMED_ROWS = [
    {"email": " Ann@Example.com ", "name": " Ann ", "phone": "+1 555", "company": "", "title": "CEO",
     "timezone": "Europe/Paris", "emails": [" ann@work.test ", "Ann@Example.com"]},
    {"email": "bo@example.com", "timezone": "  ", "emails": []},
    {"email": "cy@example.com", "unknown": "ignored"},
    {"email": "di@example.com", "phone": "1" * 64},
]

UNUSUAL_ROWS = [
    {"email": "x@example.com", "name": 5},
    {"email": "x@example.com", "name": None},
    {"email": "x@example.com", "phone": "1" * 65},
    {"email": "x@example.com", "timezone": "Nowhere/Land"},
    {"email": "x@example.com", "emails": "x@example.com"},
    {"email": "x@example.com", "emails": ["not an address"]},
    {"email": "x@example.com", "emails": [f"a{n}@example.com" for n in range(51)]},
    {"email": "x\x00@example.com"},
    {"email": "x@example.com", "title": "\ud800"},
    {"email": "   "},
    {"email": "a" * 250 + "@example.com"},
    "not an object",
]


@pytest.mark.smoke
@pytest.mark.parametrize("row", WELL_FORMED_ROWS)
def test_import_row_fast_validation_gives_what_the_serializer_gives(row):
    serializer = ContactImportRowSerializer(data=row)
    assert serializer.is_valid()
    assert row_fast_clean(row) == dict(serializer.validated_data)


@pytest.mark.parametrize("row", UNUSUAL_ROWS)
def test_import_row_fast_validation_leaves_unusual_rows_to_the_serializer(row):
    assert row_fast_clean(row) is None
    serializer = ContactImportRowSerializer(data=row)
    data, error = contact_row_clean(row)
    if serializer.is_valid():
        assert error is None and data["name"] == str(row["name"])
    else:
        assert data is None and error


def test_import_row_clean_lower_cases_addresses_and_drops_the_primary_from_emails():
    data, error = contact_row_clean(WELL_FORMED_ROWS[0])
    assert error is None
    assert (data["email"], data["emails"], data["name"]) == ("ann@example.com", ["ann@work.test"], "Ann")
