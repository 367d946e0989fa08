from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.serializers import UserSerializer
from accounts.models import User
from tskr.api.permissions import ensure_identifier_owner
from tskr.api.renderers import Envelope
from tskr.api.viewsets import ScopedViewSet, deleted

from .. import selectors, services
from ..selectors import PageIdsFirstQuerySet
from ..preferences import SKILLS, document, ensure_skill, skill_view
from ..filters import ContactFilter, IdentifierFilter, MemoryFilter
from ..models import Contact, Memory, UserIdentifier
from .serializers import (
    ContactCreateSerializer,
    ContactsBulkImportSerializer,
    ContactsBulkImportInputSerializer,
    ContactsImportResponseSerializer,
    ContactSerializer,
    ContactUpdateSerializer,
    IdentifierCreateSerializer,
    IdentifierPreferencesResponseSerializer,
    IdentifierPreferencesSerializer,
    IdentifierSerializer,
    IdentifierUpdateSerializer,
    MakePrimaryResponseSerializer,
    MemoryCreateSerializer,
    MemorySerializer,
    MemoryUpdateSerializer,
    SkillPreferencesInputSerializer,
    SkillPreferencesRequestSerializer,
    SkillPreferencesResponseSerializer,
)


class MemoryViewSet(ScopedViewSet):
    """Delegated API: the calling user's memories (a teammate's are 404)."""

    envelope_key, envelope_list_key = "memory", "memories"
    scope = "user"
    queryset = PageIdsFirstQuerySet(Memory)  # deep pages by ids first (see the class)
    serializer_class = MemorySerializer
    filterset_class = MemoryFilter

    def narrow_queryset(self, queryset):
        return selectors.memory_list(queryset=queryset)

    @extend_schema(responses=MemorySerializer(many=True))
    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), MemorySerializer)

    @extend_schema(request=MemoryCreateSerializer, responses={201: MemorySerializer})
    def create(self, request):
        memory = services.memory_create(account=self.account, user=self.acting_user,
                                        **MemoryCreateSerializer.validated(request.data))
        return Response(MemorySerializer(memory).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=MemorySerializer)
    def retrieve(self, request, pk=None):
        return Response(MemorySerializer(self.get_object()).data)

    @extend_schema(request=MemoryUpdateSerializer, responses=MemorySerializer)
    def update(self, request, pk=None):
        memory = services.memory_update(memory=self.get_object(), **MemoryUpdateSerializer.validated(request.data))
        return Response(MemorySerializer(memory).data)

    def destroy(self, request, pk=None):
        services.memory_delete(memory=self.get_object())
        return Response(deleted(pk, "Memory deleted successfully"))


class ContactViewSet(ScopedViewSet):
    """Delegated API: the calling user's contacts (a teammate's are 404)."""

    envelope_key, envelope_list_key = "contact", "contacts"
    scope = "user"
    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    filterset_class = ContactFilter

    def narrow_queryset(self, queryset):
        return selectors.contact_list(queryset=queryset)

    @extend_schema(responses=ContactSerializer(many=True))
    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), ContactSerializer)

    @extend_schema(request=ContactCreateSerializer, responses={201: ContactSerializer},
                   description="409 `contact_exists` when another of your contacts holds one of its addresses "
                               "(`email` or `emails`, as primary or additional address).")
    def create(self, request):
        contact = services.contact_create(account=self.account, user=self.acting_user,
                                          **ContactCreateSerializer.validated(request.data))
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ContactSerializer)
    def retrieve(self, request, pk=None):
        return Response(ContactSerializer(self.get_object()).data)

    @extend_schema(request=ContactUpdateSerializer, responses=ContactSerializer,
                   description="409 `contact_exists` when a changed `email` or `emails` holds an address of "
                               "another of your contacts.")
    def update(self, request, pk=None):
        contact = services.contact_update(contact=self.get_object(),
                                          **ContactUpdateSerializer.validated(request.data))
        return Response(ContactSerializer(contact).data)

    def destroy(self, request, pk=None):
        services.contact_delete(contact=self.get_object())
        return Response(deleted(pk, "Contact deleted successfully"))

    @extend_schema(request=ContactsBulkImportSerializer, responses=ContactsImportResponseSerializer,
                   description=(
                       "Create or update up to 1000 contacts in one transaction (more: 400 `too_many_contacts`, "
                       "nothing written). Invalid items are reported in `errors` while the valid ones are "
                       "imported. No two contacts of the user share an address: an item goes to the contact "
                       "holding its email, else to the first one holding one of its additional `emails` "
                       "(case-insensitive; an existing contact or one an earlier item creates), else to a new "
                       "contact. The first item reaching a contact updates it with the keys it carries; a later "
                       "one is `skipped`, but its addresses are added. Addresses are added, never removed; one "
                       "another contact holds stays with it. Contacts whose addresses belong to a registered "
                       "user of the account get `linkedUserId`. Imports of one user run one at a time."))
    @action(detail=False, methods=["post"], url_path="bulk-import")
    def bulk_import(self, request):
        rows = ContactsBulkImportInputSerializer.validated(request.data)["contacts"]
        result = services.contacts_bulk_import(account=self.account, user=self.acting_user, rows=rows)
        return Response(Envelope({"contacts": result.as_dict()}))


SKILL_PARAMETER = OpenApiParameter("skillName", OpenApiTypes.STR, OpenApiParameter.PATH,
                                   enum=list(SKILLS), description="Unknown: 404 `unknown_skill`")


OWNER_ONLY = ("A delegated token may change only its own user's identifiers: another user's (or an unlinked "
              "one) is 403 `identifier_not_owned`. ")


class IdentifierViewSet(ScopedViewSet):
    """Identifiers of the account (management or delegated tokens), and their skill preferences.

    Reads are account-wide; a delegated token changes only its own user's identifiers."""

    envelope_key, envelope_list_key = "identifier", "identifiers"
    default_per_page = 100
    queryset = UserIdentifier.objects.all()
    serializer_class = IdentifierSerializer
    filterset_class = IdentifierFilter

    def narrow_queryset(self, queryset):
        return selectors.identifier_list(queryset=queryset)

    @extend_schema(responses=IdentifierSerializer(many=True), description=(
        "All identifiers of the account, oldest first, 100 per page by default."))
    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), IdentifierSerializer)

    def get_owned_object(self) -> UserIdentifier:
        """The identifier of the URL, for a change: the caller's own unless it holds a management token."""
        identifier = self.get_object()
        ensure_identifier_owner(self.request.user, identifier.user_id)
        return identifier

    @extend_schema(request=IdentifierCreateSerializer, responses={201: IdentifierSerializer}, description=(
        "409 `identifier_exists` when the (normalised) value already exists for this type in the account. "
        "A delegated token creates identifiers of its own user only: a `userId` other than its own (or null) "
        "is 403 `identifier_not_owned`. `primary: true` on an email needs `verified: true` "
        "(400 `identifier_not_verified`)."))
    def create(self, request):
        data = IdentifierCreateSerializer.validated(request.data)
        user = self.acting_user
        if "userId" in data:
            user_id = data.pop("userId")
            user = self.get_scoped(User, id=user_id, message="User not found") if user_id else None
        ensure_identifier_owner(request.user, user.id if user else None)
        identifier = services.identifier_create(account=self.account, user=user, **data)
        return Response(IdentifierSerializer(identifier).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=IdentifierSerializer)
    def retrieve(self, request, pk=None):
        return Response(IdentifierSerializer(self.get_object()).data)

    @extend_schema(request=IdentifierUpdateSerializer, responses=IdentifierSerializer, description=OWNER_ONLY + (
        "`primary: true` behaves as make-primary (an email needs `verified: true`, 400 `identifier_not_verified`)."))
    def update(self, request, pk=None):
        identifier = services.identifier_update(identifier=self.get_owned_object(),
                                                **IdentifierUpdateSerializer.validated(request.data))
        return Response(IdentifierSerializer(identifier).data)

    @extend_schema(description=OWNER_ONLY + (
        "Also deletes its preferences and calendar links. A user's last email identifier and their primary one "
        "cannot be deleted (409 `last_email_identifier`, `primary_email_identifier`)."))
    def destroy(self, request, pk=None):
        services.identifier_delete(identifier=self.get_owned_object())
        return Response(deleted(pk, "Identifier deleted successfully"))

    @extend_schema(request=None, responses=MakePrimaryResponseSerializer, description=OWNER_ONLY + (
        "Make a verified email identifier its user's primary email: the user's email changes with it, "
        "atomically, and the previous address keeps logging in as the same user. 400 `identifier_not_email` / "
        "`identifier_not_linked` / `identifier_not_verified` (`verified` is false); 409 `email_taken`."))
    @action(detail=True, methods=["post"], url_path="make-primary")
    def make_primary(self, request, pk=None):
        identifier = services.identifier_make_primary(identifier=self.get_owned_object())
        return Response(Envelope({"user": UserSerializer(identifier.user).data,
                                  "identifier": IdentifierSerializer(identifier).data}))

    @extend_schema(responses=IdentifierPreferencesResponseSerializer, description=(
        "Every skill's preferences in full: what was set, defaults for the rest."))
    @action(detail=True, methods=["get"], url_path="preferences")
    def preferences(self, request, pk=None):
        identifier = self.get_object()
        full = document(identifier, selectors.preferences_get(identifier=identifier))
        return Response(Envelope({"preferences": IdentifierPreferencesSerializer(full).data}))

    @extend_schema(methods=["GET"], parameters=[SKILL_PARAMETER], operation_id="identifiers_skill_preferences_get",
                   responses=SkillPreferencesResponseSerializer,
                   description="One skill's preferences in full: what was set, defaults for the rest.")
    @extend_schema(methods=["PUT"], parameters=[SKILL_PARAMETER], operation_id="identifiers_skill_preferences_set",
                   request=SkillPreferencesRequestSerializer, responses=SkillPreferencesResponseSerializer,
                   description=OWNER_ONLY + (
                       "Validate strictly (unknown keys, bad enums, times, dates: 400 with `details` naming the "
                       "field path) and deep-merge into what is stored: objects merge key by key, lists replace."))
    @action(detail=True, methods=["get", "put"], url_path=r"preferences/(?P<skillName>[^/]+)")
    def skill_preferences(self, request, pk=None, skillName=None):
        identifier = self.get_object()
        ensure_skill(skillName)
        if request.method != "GET":  # PUT (or PATCH, routed to the same action)
            ensure_identifier_owner(request.user, identifier.user_id)
            values = SkillPreferencesInputSerializer.validated(request.data)["preferences"]
            view = services.preferences_set(identifier=identifier, skill=skillName, values=values)
        else:
            stored = selectors.preferences_get(identifier=identifier)
            view = skill_view(stored.data if stored else {}, skillName)
        return Response(Envelope({"skill": skillName, "preferences": view}))
