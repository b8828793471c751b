"""Verifies webhook deliveries with the Standard Webhooks reference library.

stdin: {"secret": "whsec_...", "requests": [{"headers": {...}, "body": "..."}]}
stdout: {"verified": [webhook-id, ...]}; any failure raises (non-zero exit).
"""
import json
import sys

from standardwebhooks.webhooks import Webhook

given = json.load(sys.stdin)
hook = Webhook(given["secret"])
verified = []
for r in given["requests"]:
    hook.verify(r["body"], r["headers"])
    verified.append(r["headers"]["webhook-id"])
json.dump({"verified": verified}, sys.stdout)
