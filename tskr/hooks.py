"""Named extension points, so that an app low in the dependency order can let the apps above it act
on its events without importing them (README, "Architecture").

The app that owns the event declares the hook in its `hooks.py` and calls it; an app above registers
a receiver in its `AppConfig.ready()`. Receivers run in the caller's transaction, in registration
order, and an exception from one propagates to the caller: a hook is a function call whose target
is decided at start-up, not a fire-and-forget signal.
"""
from collections.abc import Callable


class Hook:
    def __init__(self, name: str, doc: str):
        self.name = name
        self.__doc__ = doc
        self._receivers: list[Callable] = []

    def register(self, receiver: Callable) -> Callable:
        if receiver not in self._receivers:  # ready() may run twice (tests that reload the app registry)
            self._receivers.append(receiver)
        return receiver

    def __call__(self, **kwargs) -> list:
        """Every receiver's answer, in registration order (keyword arguments only, as services take them)."""
        return [receiver(**kwargs) for receiver in self._receivers]

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._receivers)} receiver(s)>"
