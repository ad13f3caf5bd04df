"""WSGI entry point: gunicorn wsgi:app"""

from widget_server import create_app
from widget_server.core.db import require_current_schema
from widget_server.core.heap import freeze_startup_objects

app = create_app()
# Refuse to start on a database that is missing migrations, with the command that fixes it.
require_current_schema(app)
# What the app holds from here on lives as long as the process: keep it out of every
# full garbage collection (a pause of about 80 ms otherwise; see core/heap.py).
freeze_startup_objects()
