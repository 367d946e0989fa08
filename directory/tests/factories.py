import factory

from directory.models import Contact, Memory, UserIdentifier


class MemoryFactory(factory.django.DjangoModelFactory):
    """A memory of `user` (pass user=...; the account follows it)."""

    class Meta:
        model = Memory

    account = factory.SelfAttribute("user.account")
    title = factory.Sequence(lambda n: f"Memory {n}")
    content = "Something worth remembering"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SelfAttribute("user.account")
    name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.Sequence(lambda n: f"contact{n}@example.test")


class IdentifierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserIdentifier

    account = factory.SelfAttribute("user.account")
    type = UserIdentifier.Type.PHONE
    value = factory.Sequence(lambda n: f"+1415555{n:04d}")
