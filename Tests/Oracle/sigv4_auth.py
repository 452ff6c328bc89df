"""A `requests` auth that signs DICOMweb requests for HealthImaging (SigV4, service
`medical-imaging`) with botocore, as shared/reference/dicomweb-dimse.md §4.6 shows:
it signs the Host actually sent and the exact body. Used by the judges and the benchmark."""
import hashlib

import botocore.session
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest


class MedicalImagingSigV4(requests.auth.AuthBase):
    def __init__(self, region="us-east-1"):
        self.region = region
        self.creds = botocore.session.get_session().get_credentials()

    def __call__(self, r):
        body = r.body or b""
        body = body.encode() if isinstance(body, str) else body
        if not isinstance(body, (bytes, bytearray)):
            raise ValueError("streamed body: raise chunk_size")
        keep = {k: v for k, v in r.headers.items() if k.lower() in ("host", "content-type", "accept")}
        aws = AWSRequest(method=r.method, url=r.url, data=body, headers=keep)
        aws.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
        SigV4Auth(self.creds.get_frozen_credentials(), "medical-imaging", self.region).add_auth(aws)
        for k in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "x-amz-content-sha256"):
            if k in aws.headers:
                r.headers[k] = aws.headers[k]
        return r
