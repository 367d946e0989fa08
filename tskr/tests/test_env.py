"""Strict environment parsing of the settings that need more than an integer (tskr/infra/env.py)."""
import pytest
from django.core.exceptions import ImproperlyConfigured

from tskr.infra.env import env_model_prices

DEFAULT = {"claude-sonnet-4-5": {"input": 3.0, "output": 15.0, "cacheWrite": 3.75, "cacheRead": 0.3}}


def test_model_prices_default_when_unset(monkeypatch):
    monkeypatch.delenv("TSKR_MODEL_PRICES", raising=False)
    assert env_model_prices("TSKR_MODEL_PRICES", DEFAULT) == DEFAULT


def test_model_prices_are_merged_over_the_default(monkeypatch):
    monkeypatch.setenv("TSKR_MODEL_PRICES", '{"claude-haiku-4-5": {"input": 1, "output": 5, "cacheWrite": 1.25, '
                                            '"cacheRead": 0.1}}')
    prices = env_model_prices("TSKR_MODEL_PRICES", DEFAULT)
    assert prices["claude-sonnet-4-5"] == DEFAULT["claude-sonnet-4-5"]
    assert prices["claude-haiku-4-5"] == {"input": 1.0, "output": 5.0, "cacheWrite": 1.25, "cacheRead": 0.1}


@pytest.mark.parametrize("raw", ["not json", "[]", '{"m": {"input": 1}}', '{"m": {"input": -1, "output": 1, '
                                 '"cacheWrite": 1, "cacheRead": 1}}', '{"m": {"input": "1", "output": 1, '
                                 '"cacheWrite": 1, "cacheRead": 1}}'])
def test_malformed_model_prices_stop_start_up(monkeypatch, raw):
    monkeypatch.setenv("TSKR_MODEL_PRICES", raw)
    with pytest.raises(ImproperlyConfigured):
        env_model_prices("TSKR_MODEL_PRICES", DEFAULT)
