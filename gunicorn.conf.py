"""Gunicorn settings of the web process (read by the Procfile's ``web`` command)."""

import os

bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"
# Threads serve the webhook well: each request does a few Redis round trips only.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = 30
graceful_timeout = 25
keepalive = 5
# Recycle workers now and then so that slow growth of memory never builds up.
max_requests = 20000
max_requests_jitter = 2000
accesslog = None
# gunicorn 27 opens a control socket in the home folder by default; not used here.
control_socket_disable = True
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn's own lines (start, worker boot, errors) use the service's logfmt format,
# so the web process writes one format only.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"logfmt": {"()": "workers.logs.LogfmtFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "logfmt",
            "stream": "ext://sys.stdout",
        }
    },
    "root": {"handlers": ["stdout"], "level": loglevel.upper()},
    "loggers": {
        "gunicorn.error": {
            "handlers": ["stdout"],
            "level": loglevel.upper(),
            "propagate": False,
        },
        "urllib3": {"level": "WARNING"},
    },
}
