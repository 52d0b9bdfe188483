"""WSGI entry point for gunicorn: `gunicorn 'engine.wsgi:app'`."""
from engine.app import create_app
from engine.warm import warm
from tenants import raise_open_file_limit

raise_open_file_limit()  # every worker may hold many tenants' files
app = create_app()
warm(app)  # the first request costs what the next ones do
