"""Periodic jobs for the worker (each a few lines calling billing/)."""

from huey import crontab

from lanbill.tasks import huey  # noqa: F401


@huey.periodic_task(crontab(minute="*/5"), retries=0)
def billing_run():
    """Every five minutes, 00:00 included: all billing due as of now
    (the same function as `flask --app app bill`)."""
    from lanbill.billing.run import run_due
    from lanbill.db import connection

    with connection():
        return run_due().summary()
