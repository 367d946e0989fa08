"""The FilterSet every list endpoint uses: django-filter's, with its per-request copying made cheap.

For each request django-filter builds a form class (a class and one form field per filter), deep-copies
every filter, and the form deep-copies every form field; that was most of a list's filtering cost and
none of it depends on the request. Here the form class is built once per FilterSet class, and the
per-request copies are shallow: a filter only gets `model` and `parent` set on its copy, and form
fields are only used to clean values, which does not change them.
"""
import copy

import django_filters


class _ShallowCopiedFilters(dict):
    def __deepcopy__(self, memo):
        copies = {}
        for name, original in self.items():
            filter_copy = copy.copy(original)
            if original.method is not None:
                filter_copy.method = original.method  # rebinds its FilterMethod to the copy
            copies[name] = filter_copy
        return copies


class _SharedFields(dict):
    def __deepcopy__(self, memo):
        return dict(self)


class FilterSet(django_filters.FilterSet):
    @classmethod
    def get_filters(cls):
        return _ShallowCopiedFilters(super().get_filters())

    def get_form_class(self):
        cls = type(self)
        if "_cached_form_class" not in cls.__dict__:
            form_class = super().get_form_class()
            form_class.base_fields = _SharedFields(form_class.base_fields)
            cls._cached_form_class = form_class
        return cls._cached_form_class
