"""gunicorn's settings, read from the working directory (the project root): `gunicorn --workers 2 … wsgi:app`.

Threaded workers let the webhook intake commit concurrent Graph deliveries together (group commit,
plugin/services/inbox_writer.py); with sync workers every delivery waits for a disk flush of its own, which caps
intake near one delivery per flush. Options given on the command line win over these.
"""

worker_class = "gthread"
threads = 8
