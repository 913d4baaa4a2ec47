"""gunicorn settings for the backend: ``gunicorn -c python:backend.http.gunicorn 'backend.wsgi:app'``
Every way this repository starts gunicorn passes ``-c python:backend.http.gunicorn`` (tools/demo.py, tools/cluster.py,
deploy/systemd); there is no second settings file.

The request-line and header limits are deliberate, and a request over them gets the API's JSON error
(414 ``request_line_too_long``, 431 ``headers_too_large``), not gunicorn's HTML page. No API path or
query comes near 2 KiB; the largest header a client sends is a bearer token (< 200 characters).
"""
import gunicorn.util

from backend.http.guard import gunicorn_error

limit_request_line = 4094        # bytes of "METHOD /path?query HTTP/1.1"
limit_request_fields = 50        # header count
limit_request_field_size = 8190  # bytes of one header

# gunicorn's workers answer unparseable requests through gunicorn.util.write_error (looked up at call
# time, in every forked worker): answer in JSON like the rest of the API.
gunicorn.util.write_error = gunicorn_error
