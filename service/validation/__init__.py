"""The worksheet validator: pure domain code, no HTTP, database or LLM."""

from service.validation.validator import validate_worksheet

__all__ = ["validate_worksheet"]
