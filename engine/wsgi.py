"""WSGI entry point for gunicorn: `gunicorn 'engine.wsgi:app'`."""
from engine.app import create_app

app = create_app()
