"""The REST service: ``create_app(settings)`` builds a FastAPI app serving trained NER models."""

from api.app import create_app
from api.settings import Settings

__all__ = ["Settings", "create_app"]
