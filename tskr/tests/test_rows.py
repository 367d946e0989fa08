"""RowShape: the fast list path is derived from the output serializer, so a field is declared once."""
import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

from conversations.api.serializers import ChatAssistantSerializer, ChatSerializer
from conversations.models import Chat
from conversations.tests.factories import AssistantFactory, ChatFactory
from tskr.api.rows import RowShape

pytestmark = pytest.mark.django_db


class ChatWithMoreSerializer(ChatSerializer):
    """ChatSerializer plus one field of each kind, each added in one place only."""

    titleGenerated = serializers.BooleanField(source="title_generated")
    accountId = serializers.CharField(source="account_id")
    owner = ChatAssistantSerializer(source="assistant")  # a nested shape that is never null here

    class Meta(ChatSerializer.Meta):
        fields = ChatSerializer.Meta.fields + ["titleGenerated", "accountId", "owner"]


def _rows_and_expected(serializer_class, shape):
    chats = Chat.objects.order_by("id")
    rows = list(chats.values(*shape.columns))
    return shape.build(rows), json.loads(json.dumps(serializer_class(chats, many=True).data))


def test_a_field_added_to_the_serializer_is_in_the_fast_rows_with_no_other_edit(alice):
    ChatFactory(assistant=AssistantFactory(account=alice.account), metadata={"a": [1, None]}, title_generated=True)
    shape = RowShape(ChatWithMoreSerializer)
    assert {"title_generated", "account_id", "assistant__name"} <= set(shape.columns)
    built, expected = _rows_and_expected(ChatWithMoreSerializer, shape)
    assert built == expected
    assert built[0]["titleGenerated"] is True and built[0]["owner"]["name"]


def test_a_nullable_nested_shape_is_null_when_its_row_is_missing(alice):
    ChatFactory(account=alice.account, assistant=None, title="Orphan")
    built, expected = _rows_and_expected(ChatSerializer, RowShape(ChatSerializer))
    assert built == expected and built[0]["assistant"] is None and built[0]["lastMessageAt"] is None


def test_a_field_without_a_row_form_is_refused_unless_computed():
    class WithMethodSerializer(ChatSerializer):
        shout = serializers.SerializerMethodField()

        class Meta(ChatSerializer.Meta):
            fields = ChatSerializer.Meta.fields + ["shout"]

        def get_shout(self, chat) -> str:
            return chat.title.upper()

    with pytest.raises(ImproperlyConfigured, match="shout"):
        RowShape(WithMethodSerializer).columns
    shape = RowShape(WithMethodSerializer, computed={"shout": lambda row: row["title"].upper()})
    assert shape.build([{column: None for column in shape.columns} | {"title": "hi"}])[0]["shout"] == "HI"
