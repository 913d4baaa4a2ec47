"""gunicorn entry point: ``gunicorn -w 4 -k gthread --threads 4 -b 0.0.0.0:8000 'backend.wsgi:app'``.

Configuration comes from the environment (DATABASE_URL, SECRET_KEY, PERKPASS_KEY_PASSPHRASE, REDIS_URL
...). This entry point is **production unless development is asked for** (``PERKPASS_ENV=development``,
as ``make demo`` does): a server started without PERKPASS_ENV must never return log-in codes or sign
sessions with the development secret, so it refuses to start until the production settings are given.
Run ``flask --app backend init-db`` once before starting.
"""
import os

from werkzeug.middleware.proxy_fix import ProxyFix

from backend import create_app
from backend.settings import settings_of

app = create_app({"ENV_NAME": os.environ.get("PERKPASS_ENV") or "production"})
if settings_of(app).proxy_fix:
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]  # Flask's documented way
