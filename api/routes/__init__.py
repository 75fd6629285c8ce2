"""One router per resource: tagging, models, operations."""
