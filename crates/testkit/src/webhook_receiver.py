# A webhook receiver, as a customer's system would run one: it checks Exeunt's signature
# (HMAC-SHA256 over "<t>.<body>", refusing stale times), logs every event it accepts, and
# answers the verify event with whether it revoked that subject. Arguments: port, key, log.
import hashlib
import hmac
import http.server
import json
import sys
import time

port, key, log = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
revoked = set()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        parts = dict(p.split("=", 1) for p in self.headers.get("Exeunt-Signature", "").split(",") if "=" in p)
        expected = hmac.new(key, parts.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
        fresh = parts.get("t", "").isdigit() and abs(time.time() - int(parts["t"])) < 300
        if not fresh or not hmac.compare_digest(expected, parts.get("v1", "")):
            self.answer(401, b"bad signature")
            return
        event = json.loads(body)
        with open(log, "a") as f:
            f.write(json.dumps({
                "type": event["type"], "id": event["id"], "subject": event["subject"],
                "specversion": event["specversion"], "content_type": self.headers.get("Content-Type"),
            }) + "\n")
        if event["type"] == "com.exeunt.access.revoke":
            revoked.add(event["subject"])
            self.answer(202, b"")
        elif event["type"] == "com.exeunt.access.verify":
            state = "gone" if event["subject"] in revoked else "live"
            self.answer(200, json.dumps({"access": state}).encode())
        elif event["type"].startswith("com.exeunt.audit."):
            self.answer(202, b"")
        else:
            self.answer(400, b"unknown event type")

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()
