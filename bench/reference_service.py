"""The reference service a user would write in twenty lines: FastAPI + spaCy ``en_core_web_sm``.

``uvicorn bench.reference_service:app`` — the same request shapes as ours, for the REST comparison.
"""

from fastapi import FastAPI
from pydantic import BaseModel

from bench.peer import load_spacy_ner

nlp = load_spacy_ner()
app = FastAPI()


class One(BaseModel):
    text: str


class Many(BaseModel):
    texts: list[str]


def _ents(doc):  # noqa: ANN001, ANN202 - kept as short as a user would write it
    return [{"text": e.text, "label": e.label_, "start": e.start_char, "end": e.end_char} for e in doc.ents]


@app.post("/v1/ner")
def ner(body: One) -> dict:
    return {"entities": _ents(nlp(body.text))}


@app.post("/v1/ner/batch")
def ner_batch(body: Many) -> dict:
    return {"results": [{"entities": _ents(d)} for d in nlp.pipe(body.texts)]}
