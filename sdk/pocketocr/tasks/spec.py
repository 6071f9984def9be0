"""What every task's preprocessing spec shares: it travels inside the model as `pre.*` metadata."""

from __future__ import annotations

from typing import TypeVar

from typing_extensions import Self

__all__ = ["MetadataSpec"]

S = TypeVar("S", bound="MetadataSpec")


class MetadataSpec:
    """Mixin for frozen dataclasses of scalar fields, written to and read from model metadata."""

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> Self:
        """The spec a model file carries (missing keys keep the defaults)."""
        kwargs = {}
        for f in cls.__dataclass_fields__.values():  # type: ignore[attr-defined]
            key = f"pre.{f.name}"
            if key in meta:
                kwargs[f.name] = type(f.default)(meta[key])
        return cls(**kwargs)

    def to_metadata(self) -> dict[str, str]:
        return {f"pre.{k}": str(getattr(self, k)) for k in self.__dataclass_fields__}  # type: ignore[attr-defined]
