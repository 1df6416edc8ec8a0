"""The clock process's schedule for `rq cron` (Procfile `clock`): the sweep every minute, as a job on
the `replies` queue so a worker runs it. Loaded by `rq cron smsline.cron`, never imported by the app."""

from rq import cron

from smsline.jobs import sweep
from smsline.queues import SWEEP_JOB

assert sweep.__module__ + "." + sweep.__name__ == SWEEP_JOB
cron.register(sweep, queue_name="replies", cron="* * * * *")
