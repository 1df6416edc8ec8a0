"""A local stand-in for Twilio's Messages endpoint, fast enough never to be what a benchmark measures.

    .venv/bin/python benchmarks/sink.py --port 8089

One process, asyncio, HTTP/1.1 with keep-alive, written straight on the transport (no framework: a
request costs it some tens of microseconds, so the app and its baseline are measured, not the sink).
`POST /2010-04-01/Accounts/{sid}/Messages.json` answers 201 with a Twilio-shaped message and a fresh
SID when the form has To, Body and From or MessagingServiceSid (400 and Twilio's error body
otherwise); `GET /stats` answers the counts so far (`created`, `refused`, `requests`), and
`POST /stats/reset` sets them to zero. Nothing is kept of the texts themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import uuid
from email.utils import formatdate
from urllib.parse import parse_qsl

MESSAGES = re.compile(rb"^/2010-04-01/Accounts/(AC\w+)/Messages\.json$")
COUNTS = {"requests": 0, "created": 0, "refused": 0}


def message(account: str, form: dict[str, str]) -> dict:
    """What Twilio answers when it accepts a text (its Messages create response)."""
    sid = "SM" + uuid.uuid4().hex
    stamp = formatdate(usegmt=True)
    base = f"/2010-04-01/Accounts/{account}/Messages/{sid}"
    from_, service = form.get("From"), form.get("MessagingServiceSid")
    return {
        "account_sid": account,
        "api_version": "2010-04-01",
        "body": form["Body"],
        "date_created": stamp,
        "date_sent": None,
        "date_updated": stamp,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": from_,
        "messaging_service_sid": service,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued" if from_ else "accepted",
        "subresource_uris": {"media": f"{base}/Media.json"},
        "to": form["To"],
        "uri": f"{base}.json",
    }


def answer(method: bytes, path: bytes, body: bytes) -> tuple[int, dict]:
    COUNTS["requests"] += 1
    if path == b"/stats":
        if method == b"POST":
            COUNTS.update(requests=0, created=0, refused=0)
        return 200, dict(COUNTS)
    found = MESSAGES.match(path.split(b"?", 1)[0])
    if method != b"POST" or found is None:
        return 404, {
            "code": 20404,
            "message": "The requested resource was not found",
            "status": 404,
        }
    form = dict(parse_qsl(body.decode()))
    if (
        not form.get("To")
        or not form.get("Body")
        or not (form.get("From") or form.get("MessagingServiceSid"))
    ):
        COUNTS["refused"] += 1
        return 400, {"code": 21604, "message": "To, Body and a sender are required", "status": 400}
    COUNTS["created"] += 1
    return 201, message(found[1].decode(), form)


REASONS = {200: b"OK", 201: b"Created", 400: b"Bad Request", 404: b"Not Found"}


class Http(asyncio.Protocol):
    """HTTP/1.1 requests with a Content-Length body (what requests and urllib3 send), pipelined or
    one after another on a kept-alive connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].split(b"\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, path, _ = head[0].split(b" ", 2)
            status, payload = answer(method, path, body)
            data = json.dumps(payload).encode()
            self.transport.write(
                b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                b"Connection: keep-alive\r\n\r\n%s" % (status, REASONS[status], len(data), data)
            )


async def serve(host: str, port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Http, host, port, backlog=1024)
    print(f"[sink] serving on http://{host}:{port}", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
