#!/usr/bin/env python3
"""moto (S3 + STS + IAM) on 127.0.0.1 with SigV4 checking on, for the STS credential tests.

    python3 Tests/Oracle/moto_server.py [--port 0]

Seeds, while authentication is still off: IAM user `uploader` with an access key
and an allow-all inline policy, and role `uploader-role` with an allow-all inline
policy (moto checks the role's policies for assumed-role keys). Then turns
checking on (INITIAL_NO_AUTH_ACTION_COUNT = 0): every request must be signed
with a known key, and assumed-role keys need their matching X-Amz-Security-Token.
AssumeRoleWithWebIdentity stays unsigned, as it is on AWS, and signatures are
checked over the raw request-target (see setup_class below). Assumed-role keys
past their Expiration are refused with ExpiredToken, as S3 and STS refuse them
(moto itself never expires them).

With --put-delay S, every object PUT waits S seconds first (a slow link, so an
upload outlives short-lived credentials).

Prints `user AKID SECRET`, `role ARN`, then `listening on PORT`.
"""
import argparse
import json
import sys
import logging
import threading
import time
from urllib.parse import urlparse

import boto3
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.responses import BaseResponse
from moto.core.utils import utcnow
from moto.iam import access_control
from moto.s3.exceptions import S3ClientError
from moto.sts.models import sts_backends
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--put-delay", type=float, default=0, help="seconds each object PUT waits")
args = parser.parse_args()

settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
logging.getLogger("werkzeug").setLevel(logging.ERROR)
original = ActionAuthenticatorMixin._authenticate_and_authorize_action


def authenticate(self, iam_request_cls, resource="*"):
    # Real STS takes AssumeRoleWithWebIdentity unsigned: the web identity token is the proof.
    if self._get_action() == "AssumeRoleWithWebIdentity":
        return
    return original(self, iam_request_cls, resource)


ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate

# Verify signatures over the request-target exactly as sent, as S3 does: moto
# otherwise rebuilds it from Werkzeug's re-quoted URL, and a correctly signed
# `prefix=study%2F` or `a%2Bb` key no longer matches.
original_setup = BaseResponse.setup_class


def setup_class(self, request, full_url, headers, *a, **kw):
    original_setup(self, request, full_url, headers, *a, **kw)
    environ = getattr(request, "environ", None)
    raw = environ.get("RAW_URI") if environ else None
    if raw:
        parsed = urlparse(full_url)
        self.uri = f"{parsed.scheme}://{parsed.netloc}{raw}"


BaseResponse.setup_class = setup_class


# Expired session credentials are refused, as AWS refuses them.
class S3ExpiredToken(S3ClientError):
    code = "ExpiredToken"

    def __init__(self):
        super().__init__("ExpiredToken", "The provided token has expired.")


class STSExpiredToken(S3ClientError):
    code = "ExpiredTokenException"

    def __init__(self):
        super().__init__("ExpiredTokenException", "The security token included in the request is expired")


original_assumed_init = access_control.AssumedRoleAccessKey.__init__


def assumed_init(self, account_id, partition, access_key_id, headers):
    for role in sts_backends[account_id][partition].assumed_roles:
        if role.access_key_id == access_key_id and role.expiration < utcnow():
            raise access_control.CreateAccessKeyFailure(reason="ExpiredToken")
    original_assumed_init(self, account_id, partition, access_key_id, headers)


access_control.AssumedRoleAccessKey.__init__ = assumed_init
original_s3_invalid = access_control.S3IAMRequest._raise_invalid_access_key
original_iam_invalid = access_control.IAMRequest._raise_invalid_access_key


def s3_invalid(self, reason):
    if reason == "ExpiredToken":
        raise S3ExpiredToken()
    original_s3_invalid(self, reason)


def iam_invalid(self, reason):
    if reason == "ExpiredToken":
        raise STSExpiredToken()
    original_iam_invalid(self, reason)


access_control.S3IAMRequest._raise_invalid_access_key = s3_invalid
access_control.IAMRequest._raise_invalid_access_key = iam_invalid

backend_app = DomainDispatcherApplication(create_backend_app)


def app(environ, start_response):
    if args.put_delay and environ.get("REQUEST_METHOD") == "PUT" and environ.get("PATH_INFO", "").strip("/").count("/") >= 1:
        time.sleep(args.put_delay)
    return backend_app(environ, start_response)


server = make_server("127.0.0.1", args.port, app, threaded=True)
port = server.server_port
threading.Thread(target=server.serve_forever, daemon=True).start()

endpoint = f"http://127.0.0.1:{port}"
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="seed", aws_secret_access_key="seed")
iam = boto3.client("iam", **kw)
allow_all = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
iam.create_user(UserName="uploader")
iam.put_user_policy(UserName="uploader", PolicyName="all", PolicyDocument=allow_all)
key = iam.create_access_key(UserName="uploader")["AccessKey"]
trust = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"]}]})
role = iam.create_role(RoleName="uploader-role", AssumeRolePolicyDocument=trust)["Role"]
iam.put_role_policy(RoleName="uploader-role", PolicyName="all", PolicyDocument=allow_all)

settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
print(f"user {key['AccessKeyId']} {key['SecretAccessKey']}", flush=True)
print(f"role {role['Arn']}", flush=True)
print(f"listening on {port}", flush=True)
threading.Event().wait()
