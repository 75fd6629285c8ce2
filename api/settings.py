"""Service settings, read from ``NER_*`` environment variables by pydantic-settings.

``NER_MODELS=en,zh NER_API_KEY=... ner serve`` — every field below is ``NER_<FIELD>`` in upper case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ner.config import comma_list
from ner.store import check_name


class Settings(BaseSettings):
    """Everything the service can be told; immutable once built."""

    model_config = SettingsConfigDict(env_prefix="NER_", frozen=True, protected_namespaces=(), extra="ignore")

    # Model names to load at startup: shipped names (en, zh) or names in model_dir's store.
    models: Annotated[tuple[str, ...], NoDecode] = ("en", "zh")
    # Model used when a request names none; default: the first of ``models``.
    default_model: str | None = None
    # Store of retrained models (``ner retrain --model-dir``); its current version of a name wins over a shipped one.
    model_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_chars: int = Field(100_000, ge=1, description="characters (code points) per text")
    max_batch: int = Field(256, ge=1, description="texts per /v1/ner/batch request")
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1, description="request body size, checked before parsing")
    # Key for admin endpoints (X-API-Key header); admin endpoints are disabled while it is unset or empty.
    api_key: SecretStr | None = None
    inference_workers: int = Field(1, ge=1, description="model calls running at once (threads)")
    # Torch intra-op threads for the model; 0 keeps torch's default (one per core). One leaves a core to the
    # event loop (HTTP, JSON) and stops the model's threads from fighting it (docs/PERFORMANCE.md).
    torch_threads: int = Field(1, ge=0, description="torch intra-op threads; 0 keeps torch's default")
    batch_size: int = Field(64, ge=1, description="sentences per forward pass")
    # Dynamic int8 quantisation of the word BiLSTM: faster on CPU, slightly less accurate (docs/PERFORMANCE.md).
    quantize: bool = False
    # Dynamic micro-batching: requests waiting at the same time share one model call of at most
    # batch_max_texts texts and batch_max_chars characters (a bigger request runs alone).
    batch_max_texts: int = Field(256, ge=1, description="texts per shared model call")
    batch_max_chars: int = Field(50_000, ge=1, description="characters per shared model call")
    batch_wait_ms: float = Field(0.0, ge=0, le=1000, description="ms to wait for more requests before a call")
    max_queue: int = Field(1024, ge=1, description="requests waiting for the model before new ones get 503")
    # Browser origins allowed to call the API (CORS), comma-separated; empty (the default) sends no CORS headers.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    body_timeout: float = Field(30.0, gt=0, description="seconds to receive a request body (408 after)")
    # Connections served at once; uvicorn answers 503 beyond this, so a flood cannot exhaust memory.
    max_connections: int = Field(256, ge=1)
    # On SIGTERM, seconds to let requests in flight finish before they are cut off.
    shutdown_timeout: float = Field(30.0, gt=0)
    # Log request texts (at DEBUG). Off by default: texts are user data and stay out of logs.
    log_texts: bool = False
    # Log lines: one JSON object per line (time, level, logger, message, request_id, ...) or plain text.
    log_format: Literal["json", "text"] = "json"
    # Serve the demo page at / (and its files under /static).
    demo: bool = True

    @field_validator("models", "cors_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(comma_list(value))
        return value

    @field_validator("models")
    @classmethod
    def _check_models(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one model is required")
        if len(set(value)) != len(value):
            raise ValueError(f"duplicate model names in {','.join(value)}")
        for name in value:
            check_name(name)
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @model_validator(mode="after")
    def _check_default(self) -> Settings:
        if self.default_model is not None and self.default_model not in self.models:
            raise ValueError(f"default_model {self.default_model!r} is not one of models ({', '.join(self.models)})")
        return self

    @property
    def default(self) -> str:
        """The model a request without ``model`` gets."""
        return self.default_model or self.models[0]
