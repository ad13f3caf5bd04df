"""gunicorn settings for the web processes: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

gthread workers, because a visitor's live status stream (`/v1/callbacks/<token>/events`)
stays open for up to LIVE_STREAM_SECONDS: under gthread it holds one thread of a worker,
under sync workers it would hold the whole worker. Each worker admits at most
LIVE_STREAMS_PER_WORKER streams (default 8, at most LIVE_STREAMS_PER_CLIENT = 4 from one
address), so keep `threads` above that cap: the other threads serve everything else.
Options given on the command line win over these (`-w 1 -b 127.0.0.1:8080`).
"""

bind = "127.0.0.1:8000"
workers = 4  # about 2 per core
worker_class = "gthread"
threads = 16  # > LIVE_STREAMS_PER_WORKER
graceful_timeout = 30  # finish requests in flight on SIGTERM (a stream ends within 30 s)
forwarded_allow_ips = "127.0.0.1"
