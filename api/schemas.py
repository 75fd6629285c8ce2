"""Request and response bodies. Offsets are Python string indices (Unicode code points), not UTF-16
units as JavaScript counts them: ``text[start:end]`` in Python is the entity text."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid_unicode(text: str) -> str:
    # JSON can carry lone UTF-16 surrogates ("\\ud800"); they are not characters and cannot be encoded.
    match = _SURROGATE.search(text)
    if match:
        code = f"U+{ord(match.group()):04X}"
        raise ValueError(f"lone UTF-16 surrogate {code} at index {match.start()}; send valid Unicode")
    return text


Text = Annotated[str, AfterValidator(_valid_unicode)]


class _Request(BaseModel):
    # Unknown fields are an error: a misspelt "txt" should not silently tag nothing.
    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())


# OpenAPI examples (shown by /docs): what the shipped models answer, checked by tests/test_service_conventions.py.
EN_TEXT = "Angela Merkel met Emmanuel Macron in Paris on Tuesday, said Reuters."
ZH_TEXT = "张三在北京大学工作。"
BATCH_TEXTS = ["Barack Obama spoke in Chicago.", "", "IBM hired him."]
_EN_ENTITIES = [
    {"text": "Angela Merkel", "label": "PER", "start": 0, "end": 13, "score": 1.0},
    {"text": "Emmanuel Macron", "label": "PER", "start": 18, "end": 33, "score": 1.0},
    {"text": "Paris", "label": "LOC", "start": 37, "end": 42, "score": 0.9999},
    {"text": "Reuters", "label": "ORG", "start": 60, "end": 67, "score": 0.9998},
]
_ZH_ENTITIES = [
    {"text": "张三", "label": "PER", "start": 0, "end": 2, "score": 0.9763},
    {"text": "北京大学", "label": "ORG", "start": 3, "end": 7, "score": 0.9872},
]
_BATCH_RESULTS = [
    {
        "entities": [
            {"text": "Barack Obama", "label": "PER", "start": 0, "end": 12, "score": 0.9852},
            {"text": "Chicago", "label": "LOC", "start": 22, "end": 29, "score": 0.9997},
        ]
    },
    {"entities": []},
    {"entities": [{"text": "IBM", "label": "ORG", "start": 0, "end": 3, "score": 0.9974}]},
]


class NerRequest(_Request):
    model_config = ConfigDict(json_schema_extra={"examples": [{"text": EN_TEXT}, {"text": ZH_TEXT, "model": "zh"}]})

    text: Text = Field(description="Text to tag, any length up to NER_MAX_CHARS characters.")
    model: Text | None = Field(None, description="Model name (see GET /v1/models); default: the service's default.")


class BatchRequest(_Request):
    model_config = ConfigDict(json_schema_extra={"examples": [{"texts": BATCH_TEXTS, "model": "en"}]})

    texts: list[Text] = Field(description="Texts to tag, at most NER_MAX_BATCH; results come back in this order.")
    model: Text | None = None


class ReloadRequest(_Request):
    path: Text | None = Field(None, description="Checkpoint directory; default: the name's current checkpoint.")


class EntityOut(BaseModel):
    text: str = Field(description="The entity text: the request text sliced with [start:end].")
    label: str
    start: int = Field(description="Start offset, a Python string index (code points).")
    end: int = Field(description="End offset, exclusive.")
    score: float = Field(ge=0.0, le=1.0, description="CRF probability of this span with this label.")


class NerResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"model": "en", "entities": _EN_ENTITIES}, {"model": "zh", "entities": _ZH_ENTITIES}]
        }
    )

    model: str
    entities: list[EntityOut]


class BatchItem(BaseModel):
    entities: list[EntityOut]


class BatchResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"model": "en", "results": _BATCH_RESULTS}]})

    model: str
    results: list[BatchItem]


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    name: str
    language: str
    labels: list[str]
    default: bool
    metrics: dict[str, Any]
    path: str
    digest: str
    quantized: bool = Field(description="int8 LSTM weights (NER_QUANTIZE)")
    loaded_at: str
    load_seconds: float


class ModelsResponse(BaseModel):
    models: list[ModelInfo]
    loading_errors: dict[str, str] = Field(default_factory=dict)


class ReloadResponse(BaseModel):
    model: ModelInfo
    previous_digest: str | None
    labels_added: list[str]
    labels_removed: list[str]


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. text_too_long.")
    message: str = Field(description="What went wrong, for a person.")
    details: Any = Field(None, description="Optional: e.g. the validation errors, each with loc, msg and type.")
    request_id: str | None = Field(None, description="The request's id, as in the X-Request-ID response header.")


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorInfo
