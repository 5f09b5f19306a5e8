#!/usr/bin/env python3
"""botocore's own SigV4 signer on requests described in JSON (stdin: a list of
{method, url, headers: [[name, value]], body, date, region, service, key, secret,
token?, presign?: {params: [[k, v]]}}); prints, per request, botocore's canonical
request, string to sign and Authorization header (or the pre-signed URL).
Used by the tests to compare pgdr's signer byte for byte."""
import datetime, json, sys
from unittest import mock

import botocore.auth
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

def frozen(when):
    """The signer's clock stopped at `when`, whichever way this botocore reads it
    (newer releases call botocore.auth.get_current_datetime, older ones
    datetime.datetime.utcnow)."""
    if hasattr(botocore.auth, "get_current_datetime"):
        return mock.patch("botocore.auth.get_current_datetime", return_value=when)

    class Frozen(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

    return mock.patch.object(datetime, "datetime", Frozen)


out = []
for r in json.load(sys.stdin):
    creds = Credentials(r["key"], r["secret"], r.get("token"))
    when = datetime.datetime.strptime(r["date"], "%Y%m%dT%H%M%SZ")
    with frozen(when):
        if "presign" in r:
            request = AWSRequest(method="GET", url=r["url"], params=dict(r["presign"]["params"]))
            SigV4QueryAuth(creds, r["service"], r["region"], expires=3600).add_auth(request)
            out.append({"url": request.prepare().url})
            continue
        request = AWSRequest(method=r["method"], url=r["url"], data=r["body"].encode())
        for name, value in r["headers"]:
            request.headers[name] = value
        auth = SigV4Auth(creds, r["service"], r["region"])
        auth.add_auth(request)
        authorization = request.headers["Authorization"]
        # The canonical request add_auth signed: the same request without the header it added.
        del request.headers["Authorization"]
        canonical = auth.canonical_request(request)
        out.append({"canonicalRequest": canonical, "stringToSign": auth.string_to_sign(request, canonical),
                    "authorization": authorization})
json.dump(out, sys.stdout)
