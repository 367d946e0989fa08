"""What more than one of the directory's write modules uses."""
from ..models import Contact, Memory


def api_data(instance: Memory | Contact) -> dict:
    """A memory or contact as the API answers it: the `data` of its webhook events."""
    from ..api.serializers import ContactSerializer, MemorySerializer  # the serializers import this package

    return (MemorySerializer if isinstance(instance, Memory) else ContactSerializer)(instance).data
