"""HTTP plumbing around the API's blueprints: error answers (``errors``), request guards before Flask sees a
request (``guard``), rate limits (``ratelimit``), structured logging without personal data (``log``) and
gunicorn's settings, the one place they live (``gunicorn``: ``gunicorn -c python:backend.http.gunicorn``)."""
