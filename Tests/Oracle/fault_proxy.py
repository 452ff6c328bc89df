#!/usr/bin/env python3
"""A loopback HTTP proxy that injects faults in front of an S3 server, for the
retry tests: every Nth request gets, in turn, a dropped connection, a 503
SlowDown, a 500 InternalError, or a 1.5 s delay before being forwarded.

    python3 Tests/Oracle/fault_proxy.py --port 0 --upstream http://127.0.0.1:8333 --every 3

With --bucket-region R it also plays S3's region check: a request signed for
another region gets 400 AuthorizationHeaderMalformed with `x-amz-bucket-region: R`
(HEAD: 301 with the header only), as AWS answers for a bucket in another region.

Prints "listening on PORT" when ready; on SIGTERM prints the faults injected.
The Host header is forwarded unchanged, so the client's SigV4 signature (made
for the proxy's address) is what the server checks.
"""
import argparse
import calendar
import email.utils
import http.client
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

FAULTS = ["drop", "slowdown", "internal", "delay"]
lock = threading.Lock()
state = {"count": 0, "injected": {k: 0 for k in FAULTS}, "first": None, "completes": 0, "puts": 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--every", type=int, default=3, help="inject a fault into every Nth request; 0: never")
    ap.add_argument("--bucket-region", help="refuse requests signed for any other region")
    ap.add_argument("--faults", default=",".join(FAULTS), help="which faults --every rotates through (comma-separated)")
    ap.add_argument("--slowdown-for", type=float, default=0,
                    help="answer every request 503 SlowDown for this many seconds from the first request")
    ap.add_argument("--complete-error", type=int, default=0,
                    help="answer the first N CompleteMultipartUpload calls HTTP 200 with an <Error> InternalError body")
    ap.add_argument("--corrupt-puts", type=int, default=0,
                    help="flip one byte of the body of the first N PUTs (PutObject/UploadPart) before forwarding")
    ap.add_argument("--skew", type=float, default=0,
                    help="play a server whose clock is this many seconds ahead: a request whose X-Amz-Date is more than "
                         "--skew-tolerance from it gets 403 RequestTimeTooSkewed with that clock in its Date header")
    ap.add_argument("--skew-tolerance", type=float, default=60)
    args = ap.parse_args()
    faults = [f for f in args.faults.split(",") if f in FAULTS] or FAULTS
    up = urlparse(args.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, doc, headers=()):
            """An answer of our own: `headers` first (a Date given here is the only one)."""
            if any(k == "Date" for k, _ in headers):
                self.send_response_only(status)  # send_response would add the real Date first
            else:
                self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(doc)))
            self.end_headers()
            self.wfile.write(doc)

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if args.bucket_region:
                scope = (self.headers.get("Authorization") or "").split("Credential=")[-1].split("/")
                if len(scope) > 2 and scope[2] != args.bucket_region:
                    with lock:
                        state["count"] += 1
                        state["injected"]["wrong-region"] = state["injected"].get("wrong-region", 0) + 1
                    doc = (b"" if self.command == "HEAD" else
                           (f"<?xml version=\"1.0\"?><Error><Code>AuthorizationHeaderMalformed</Code><Message>the region "
                            f"'{scope[2]}' is wrong; expecting '{args.bucket_region}'</Message><Region>{args.bucket_region}"
                            f"</Region><RequestId>proxy-region</RequestId></Error>").encode())
                    self.reply(301 if self.command == "HEAD" else 400, doc, [("x-amz-bucket-region", args.bucket_region)])
                    return
            if args.skew:
                server_now = time.time() + args.skew
                try:
                    sent = calendar.timegm(time.strptime(self.headers.get("X-Amz-Date") or "", "%Y%m%dT%H%M%SZ"))
                except ValueError:
                    sent = 0
                if abs(sent - server_now) > args.skew_tolerance:
                    with lock:
                        state["count"] += 1
                        state["injected"]["skew"] = state["injected"].get("skew", 0) + 1
                    doc = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>RequestTimeTooSkewed</Code>"
                           b"<Message>The difference between the request time and the current time is too large.</Message>"
                           b"<RequestId>proxy-skew</RequestId></Error>")
                    self.reply(403, doc, [("Date", email.utils.formatdate(server_now, usegmt=True))])
                    return
            with lock:
                state["count"] += 1
                n = state["count"]
                now = time.time()
                if state["first"] is None:
                    state["first"] = now
                every = args.every
                fault = faults[(n // every) % len(faults)] if every and n % every == 0 else None
                if args.slowdown_for and now - state["first"] < args.slowdown_for:
                    fault = "slowdown"
                is_complete = self.command == "POST" and "uploadId=" in self.path
                complete_error = False
                if is_complete and state["completes"] < args.complete_error:
                    state["completes"] += 1
                    complete_error = True
                corrupt = False
                if self.command == "PUT" and body and state["puts"] < args.corrupt_puts:
                    state["puts"] += 1
                    corrupt = True
                if fault:
                    state["injected"][fault] += 1
                for name, on in (("complete-200-error", complete_error), ("corrupt", corrupt)):
                    if on:
                        state["injected"][name] = state["injected"].get(name, 0) + 1
            if complete_error:
                doc = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>"
                       b"<Message>We encountered an internal error. Please try again.</Message><RequestId>proxy-200</RequestId></Error>")
                self.reply(200, doc)
                return
            if corrupt:
                body = bytes([body[0] ^ 0xFF]) + body[1:]
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault in ("slowdown", "internal"):
                code, status = ("SlowDown", 503) if fault == "slowdown" else ("InternalError", 500)
                doc = (f"<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>injected</Message>"
                       f"<RequestId>proxy-{n}</RequestId></Error>").encode()
                self.reply(status, doc)
                return
            if fault == "delay":
                time.sleep(1.5)
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                conn.putheader(k, v)
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True

    def stop(*_):
        print(f"faults injected: {state['injected']} of {state['count']} requests", flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
