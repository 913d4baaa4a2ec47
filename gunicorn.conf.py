# gunicorn reads ./gunicorn.conf.py when started from the repository: the backend's settings
# (deliberate request limits, JSON answers to requests gunicorn refuses). See backend/gunicorn_conf.py.
from backend.gunicorn_conf import *  # noqa: F403 - gunicorn reads its settings from this module's names
