from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from tskr.api.permissions import IsDelegated
from tskr.api.renderers import Envelope
from tskr.api.viewsets import ScopedViewSet

from .. import approvals, selectors
from ..filters import ApprovalFilter
from ..models import Approval
from .serializers import (
    ApprovalApproveSerializer,
    ApprovalEnvelopeSerializer,
    ApprovalRejectSerializer,
    ApprovalSerializer,
)

DECISION_ERRORS = ("403 `approval_not_owned` for anyone but the task's owner; 409 `approval_not_pending` once "
                   "decided or expired (of two concurrent decisions, one wins).")


class ApprovalViewSet(ScopedViewSet):
    """Delegated API: the actions the assistant holds for their task owner's decision (supervision).
    The list is the caller's; an approval is readable by the account's users, decided by its owner only."""

    envelope_key, envelope_list_key = "approval", "approvals"
    queryset = Approval.objects.all()
    serializer_class = ApprovalSerializer
    filterset_class = ApprovalFilter
    permission_classes = [IsDelegated]

    def narrow_queryset(self, queryset):
        if self.action == "list":
            return selectors.approval_list(queryset=queryset, user=self.acting_user)
        return queryset

    @extend_schema(description="The caller's approvals, newest first; filters `status`, `taskId`.")
    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), ApprovalSerializer)

    def retrieve(self, request, pk=None):
        return Response(ApprovalSerializer(self.get_object()).data)

    @extend_schema(request=ApprovalApproveSerializer, responses=ApprovalEnvelopeSerializer, description=(
        "Approve and run the held action, exactly once (`content` edits a message before it goes). When it "
        "can no longer run (409 `slot_unavailable`: the time was taken meanwhile) the approval stays pending. "
        + DECISION_ERRORS))
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        approval = self.get_object()  # before the body: another account's id is 404 whatever the body holds
        data = ApprovalApproveSerializer.validated(request.data)
        approval = approvals.approval_approve(approval=approval, actor_user=self.acting_user, **data)
        return Response(Envelope({"approval": ApprovalSerializer(approval).data}))

    @extend_schema(request=ApprovalRejectSerializer, responses=ApprovalEnvelopeSerializer, description=(
        "Reject the held action: it never runs (a rejected booking: the assistant proposes other times on the "
        "next reply; a rejected message is dropped). " + DECISION_ERRORS))
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        approval = self.get_object()
        data = ApprovalRejectSerializer.validated(request.data)
        approval = approvals.approval_reject(approval=approval, actor_user=self.acting_user, **data)
        return Response(Envelope({"approval": ApprovalSerializer(approval).data}))
