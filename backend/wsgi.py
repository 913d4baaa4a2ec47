"""gunicorn entry point: ``gunicorn -w 4 -k gthread --threads 4 -b 0.0.0.0:8000 'backend.wsgi:app'``.

Configuration comes from the environment (PERKPASS_ENV=production, DATABASE_URL, SECRET_KEY,
PERKPASS_KEY_PASSPHRASE, REDIS_URL ...). Run ``flask --app backend init-db`` once before starting.
"""
from werkzeug.middleware.proxy_fix import ProxyFix

from backend import create_app

app = create_app()
if app.config.get("PERKPASS_PROXY_FIX"):
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
