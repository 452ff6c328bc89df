#!/usr/bin/env python3
"""Loopback stand-ins for EC2's instance metadata service (IMDSv2 token flow)
and the ECS/EKS container credentials endpoint, for the credential tests.

    python3 Tests/Oracle/metadata_server.py   # prints "listening on PORT"

IMDSv2: PUT /latest/api/token (needs X-aws-ec2-metadata-token-ttl-seconds),
then GETs with X-aws-ec2-metadata-token (401 without it). Container:
GET /container-creds with Authorization: container-secret (403 otherwise).
Credentials expire 60 s after they are handed out; GET /hits counts hand-outs.
"""
import json
import sys
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "imds-session-token"
hits = {"imds": 0, "container": 0}


def creds(kind):
    hits[kind] += 1
    exp = (datetime.now(timezone.utc) + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"Code": "Success", "AccessKeyId": f"ASIA{kind.upper()}{hits[kind]}",
                       "SecretAccessKey": f"secret-{kind}", "Token": f"token-{kind}-{hits[kind]}", "Expiration": exp})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(200, TOKEN)
        self.reply(400, "bad token request")

    def do_GET(self):
        if self.path == "/hits":
            return self.reply(200, json.dumps(hits))
        if self.path == "/container-creds":
            if self.headers.get("Authorization") != "container-secret":
                return self.reply(403, "forbidden")
            return self.reply(200, creds("container"))
        if self.path == "/latest/meta-data/placement/region":
            if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
                return self.reply(401, "unauthorized")
            return self.reply(200, "eu-central-1")
        if self.path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
                return self.reply(401, "unauthorized")
            role = self.path.rsplit("/", 1)[1]
            if role == "":
                return self.reply(200, "test-role")
            return self.reply(200, creds("imds"))
        self.reply(404, "not found")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(f"listening on {server.server_address[1]}", flush=True)
server.serve_forever()
