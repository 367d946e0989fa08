"""gunicorn's configuration for the API: `gunicorn -c docker/gunicorn.conf.py tskr.wsgi:application`.

Kept out of the repository's root on purpose: gunicorn loads a `./gunicorn.conf.py` by itself, and
bench/ starts its own gunicorn from there with its own settings. The README's Production section
says what these limits still refuse.
"""

# A delegated token carries the user's names and email, so a bearer header grows with them: serve
# header fields up to 32 KB (gunicorn's default, 8190 bytes, refused a 9 KB token with a 400 of its own).
limit_request_field_size = 32768
# gunicorn's own bounds, restated: at most 100 header fields, and a request line (method, path and
# query string) of at most 8190 bytes, the largest gunicorn accepts short of "unlimited".
limit_request_fields = 100
limit_request_line = 8190

bind = "0.0.0.0:8000"
workers = 2
threads = 4
timeout = 60
accesslog = "-"
