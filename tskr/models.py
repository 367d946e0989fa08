from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` a caller sent with a write, and the response it got once the write finished.

    Scoped by account and caller (the delegated token's user id, or "" for the account's management
    token), so nobody is ever answered with somebody else's stored response. `status_code` is null while
    the first request runs. The account and user are plain ids, not foreign keys: `tskr` depends on no
    app, and rows go with the TTL purge (`tskr.purge_idempotency_keys`) anyway.
    """

    account_id = models.CharField(max_length=40)
    caller = models.CharField(max_length=40, blank=True)
    key = models.CharField(max_length=255)
    #: SHA-256 of the method, the path with its query string and the body bytes.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(null=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account_id", "caller", "key"],
                                               name="tskr_idempotency_key_unique")]

    def __str__(self):
        return f"{self.account_id}/{self.caller or '-'}/{self.key}"
