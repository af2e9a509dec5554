from celery import shared_task

from integrations.dispatcher import dispatch_all


@shared_task(name="integrations.dispatch_syncs", ignore_result=True)
def dispatch_syncs() -> dict[str, int]:
    return dispatch_all()
