"""The one place that knows RQ. With REDIS_URL, outbound texts and check-in calls are handed to
RQ queues by id (`replies` worked before `bulk`; calls are bulk); without it they are sent or
placed in-process right after the commit. Either way the row is the record: a lost job is found
again by the sweep."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smsline.line import Line

log = logging.getLogger(__name__)

QUEUES = ("replies", "bulk")  # in the order workers take them
SEND_JOB = "smsline.jobs.send_outbound"
SEND_BATCH_JOB = "smsline.jobs.send_outbound_batch"
SEND_BATCH = 50  # texts of one queue a job (outbox.send_many)
PACED_JOB = "smsline.jobs.send_paced"
CALL_JOB = "smsline.jobs.place_call"
CHECKINS_JOB = "smsline.jobs.deliver_checkins"
CHECKINS_BATCH = 500  # claimed check-ins a job
SWEEP_JOB = "smsline.jobs.sweep"
ANNOUNCEMENT_JOB = "smsline.jobs.send_announcement"


class Queues:
    def __init__(self, redis_url: str | None) -> None:
        self.redis_url = redis_url
        self.line: Line | None = None
        self._redis = None

    @property
    def in_process(self) -> bool:
        return self.redis_url is None

    def redis(self):  # noqa: ANN201
        if self._redis is None:
            from redis import Redis

            self._redis = Redis.from_url(self.redis_url, socket_timeout=5, socket_connect_timeout=2)
        return self._redis

    def hand_over(self, outbound_ids: list[tuple[int, str]], now: datetime | None = None) -> None:
        """Give committed outbox rows (id, queue) to the workers; on failure they wait for the sweep.
        Rows of one queue go SEND_BATCH a job, sent as a batch (`outbox.send_many`). In-process
        they are sent here, one after another in order; `now` is the sweep's instant (`smsline
        tick --at`)."""
        from smsline import outbox

        assert self.line is not None
        if self.in_process:
            outbox.send_many(self.line, [row_id for row_id, _ in outbound_ids], now=now, threads=1)
            return
        try:
            self.enqueue_sends(outbound_ids)
        except Exception as error:  # Redis down: the rows stay pending and the sweep retries
            log.warning("could not enqueue %d outbound texts: %s", len(outbound_ids), error)
            return
        outbox.mark_queued(self.line, [outbound_id for outbound_id, _ in outbound_ids])

    def enqueue_sends(self, outbound_ids: list[tuple[int, str]]) -> None:
        """One job a row when it is alone in its queue, else a job a SEND_BATCH of them (the job
        id names the first and how many: the same rows handed over twice get the same id)."""
        by_queue: dict[str, list[int]] = {}
        for outbound_id, queue_name in outbound_ids:
            by_queue.setdefault(queue_name, []).append(outbound_id)
        jobs = []
        for queue_name, ids in by_queue.items():
            for start in range(0, len(ids), SEND_BATCH):
                batch = ids[start : start + SEND_BATCH]
                if len(batch) == 1:
                    jobs.append((queue_name, SEND_JOB, (batch[0],), f"send-{batch[0]}"))
                else:
                    job_id = f"sends-{batch[0]}-{len(batch)}"
                    jobs.append((queue_name, SEND_BATCH_JOB, (batch,), job_id))
        self._enqueue(jobs)

    def _enqueue(self, jobs: list[tuple[str, str, tuple, str]]) -> None:
        """Put (queue, function, arguments, job id) jobs on RQ in one round trip to Redis, with
        deterministic job ids (the job takes an id and reloads the row: running twice is safe)."""
        from rq import Queue

        connection = self.redis()
        queues: dict[str, Queue] = {}
        with connection.pipeline() as pipe:
            for queue_name, function, args, job_id in jobs:
                queue = queues.setdefault(queue_name, Queue(queue_name, connection=connection))
                queue.enqueue(
                    function,
                    *args,
                    job_id=job_id,
                    result_ttl=60,
                    failure_ttl=7 * 24 * 3600,
                    pipeline=pipe,
                )
            pipe.execute()

    def hand_over_calls(self, call_ids: list[int], now: datetime | None = None) -> None:
        """Give committed check-in calls to the workers (`bulk`); on failure the sweep retries."""
        from smsline import checkin_calls

        assert self.line is not None
        if self.in_process:
            for call_id in call_ids:
                checkin_calls.place(self.line, call_id, now=now)
            return
        try:
            self._enqueue(
                [("bulk", CALL_JOB, (call_id,), f"call-{call_id}") for call_id in call_ids]
            )
        except Exception as error:  # Redis down: the rows stay pending and the sweep retries
            log.warning("could not enqueue %d check-in calls: %s", len(call_ids), error)
            return
        checkin_calls.mark_queued(self.line, call_ids, now)

    def hand_over_checkins(self, member_ids: list[int], claimed_at: datetime) -> list[str]:
        """Give claimed check-ins to the workers, CHECKINS_BATCH members a `bulk` job (the ids and
        the claim's instant: nothing about the members). In-process they are delivered here and
        the results returned; with RQ the list is empty. A batch Redis refused goes back to the
        clock at once."""
        from smsline import checkins

        assert self.line is not None
        batches = [
            member_ids[start : start + CHECKINS_BATCH]
            for start in range(0, len(member_ids), CHECKINS_BATCH)
        ]
        if self.in_process:
            results: list[str] = []
            for batch in batches:
                results += checkins.deliver_claimed(self.line, batch, claimed_at)
                if "unpublished" in results:
                    break
            return results
        at = claimed_at.isoformat()
        try:
            self._enqueue(
                [
                    (
                        "bulk",
                        CHECKINS_JOB,
                        (batch, at),
                        f"checkins-{int(claimed_at.timestamp())}-{batch[0]}",
                    )
                    for batch in batches
                ]
            )
        except Exception as error:  # Redis down: the claims go back, the next sweep tries again
            log.warning("could not enqueue %d check-ins: %s", len(member_ids), error)
            with self.line.sessions() as session:
                checkins.release(session, member_ids, claimed_at)
                session.commit()
        return []

    def hand_over_announcement(self, announcement_id: int) -> None:
        """Write a confirmed announcement's outbox rows: a `bulk` job by id with RQ (so a request
        never waits on thousands of rows), here and now without it, or when Redis refuses."""
        from smsline import announcements

        assert self.line is not None
        if not self.in_process:
            try:
                job_id = f"announcement-{announcement_id}"
                self._enqueue([("bulk", ANNOUNCEMENT_JOB, (announcement_id,), job_id)])
                return
            except Exception as error:  # Redis down: write the rows in this process instead
                log.warning("could not enqueue announcement %s: %s", announcement_id, error)
        announcements.write_rows(self.line, announcement_id)

    def hand_over_paced(self, outbound_ids: list[int]) -> None:
        """A circle's message to its members: one `replies` job sends the rows in order at the
        sender number's rate (`jobs.send_paced`), so the group's texts come quickly but never
        faster than the number may send. In-process (development, tests) they go at once; if
        Redis refuses they wait for the sweep like any text."""
        from smsline import outbox

        assert self.line is not None
        if not outbound_ids:
            return
        if self.in_process:
            for outbound_id in outbound_ids:
                outbox.send(self.line, outbound_id)
            return
        try:
            job_id = f"paced-{outbound_ids[0]}"
            self._enqueue([("replies", PACED_JOB, (list(outbound_ids),), job_id)])
        except Exception as error:  # Redis down: the rows stay pending and the sweep retries
            log.warning("could not enqueue %d paced texts: %s", len(outbound_ids), error)
            return
        outbox.mark_queued(self.line, list(outbound_ids))

    def ping(self) -> bool:
        return True if self.in_process else bool(self.redis().ping())
