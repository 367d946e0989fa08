"""Write helpers every app's services share (HackSoft's `common/services.py`)."""
from django.db.models import Model


def model_update(instance: Model, data: dict, *, save: bool = True) -> Model:
    """Set `data`'s fields on `instance` and, unless `save=False` (the caller checks more first), save it.

    Every name must be a column of the model (`owner` or `owner_id`): a misspelled key is a TypeError
    rather than an attribute that is set and silently never saved.
    """
    columns = {name for field in instance._meta.concrete_fields for name in (field.name, field.attname)}
    unknown = sorted(set(data) - columns)
    if unknown:
        raise TypeError(f"{type(instance).__name__} has no field {', '.join(unknown)}")
    for name, value in data.items():
        setattr(instance, name, value)
    if save:
        instance.save()
    return instance
