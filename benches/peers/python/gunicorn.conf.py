# gunicorn settings for receiver.py: uvicorn's async workers, one per core
# (PEER_WORKERS overrides), no access log (neither has the Node peer or
# hookforge), and no per-worker request limit that would restart workers
# mid-run.
import os

workers = int(os.environ.get("PEER_WORKERS") or os.cpu_count() or 2)
worker_class = "uvicorn_worker.UvicornWorker"
accesslog = None
loglevel = "warning"
keepalive = 75
graceful_timeout = 5
