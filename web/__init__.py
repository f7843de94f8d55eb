"""The manager workspace's templates and static assets (served by :mod:`api.routes.pages`)."""

from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
