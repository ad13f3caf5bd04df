"""WSGI entry point: gunicorn wsgi:app"""

from widget_server import create_app
from widget_server.core.db import require_current_schema

app = create_app()
# Refuse to start on a database that is missing migrations, with the command that fixes it.
require_current_schema(app)
