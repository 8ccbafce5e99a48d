#!/usr/bin/env python3
"""A resource service in Python that trusts latchkey's access tokens.

Only the standard library and PyJWT (Debian: python3-jwt python3-cryptography). It
verifies each bearer token locally with latchkey's JWKS, and follows latchkey's revocation
feed (GET /auth/revocations, with the service's credentials) so a token whose session has
ended anywhere, or whose user's roles have changed since it was issued, is refused within
a second: what latchkey/verify does for Node services, in about a hundred lines of another
language.

    npx latchkey services create reports    # prints client_id and client_secret
    LATCHKEY_ORIGIN=http://localhost:3000 CLIENT_ID=svc_... CLIENT_SECRET=... PORT=4001 \\
        /usr/bin/python3 examples/python-service/service.py
    curl -H "Authorization: Bearer $ACCESS_TOKEN" http://localhost:4001/hello
"""
import base64
import json
import os
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

ORIGIN = os.environ.get("LATCHKEY_ORIGIN", "http://localhost:3000")
BASE = os.environ.get("LATCHKEY_URL", ORIGIN)  # where latchkey answers, if not at its origin
CLIENT_ID = os.environ.get("CLIENT_ID", "")
CLIENT_SECRET = os.environ.get("CLIENT_SECRET", "")
PORT = int(os.environ.get("PORT", "4001"))
POLL_SECONDS = 0.5  # a token is refused within a second of its session ending
TOLERATE_SECONDS = 5  # past this without a feed read, refuse everything (fail closed)

BASIC = "Basic " + base64.b64encode(
    f"{urllib.parse.quote(CLIENT_ID)}:{urllib.parse.quote(CLIENT_SECRET)}".encode()
).decode()
# PyJWKClient fetches the key set again when a token names a key it does not know (a rotation).
jwks = jwt.PyJWKClient(BASE + "/.well-known/jwks.json")

ended = {}  # session id -> until (seconds): forget it once its last token has expired
roles_changed = {}  # user id -> (roles_at in ms, until in seconds): their latest role change
lock = threading.Lock()
last_read = None  # monotonic time of the last good read of the feed


def follow_feed():
    """Reads the feed forever: every ended session, from the cursor of the read before."""
    global last_read
    cursor = None
    while True:
        try:
            query = "?since=" + urllib.parse.quote(cursor) if cursor else ""
            request = urllib.request.Request(BASE + "/auth/revocations" + query, headers={"Authorization": BASIC})
            with urllib.request.urlopen(request, timeout=5) as response:
                page = json.load(response)
            now = time.time()
            with lock:
                for entry in page["entries"]:
                    if entry["type"] == "session_ended":
                        ended[entry["sid"]] = entry["until"]
                    elif entry["type"] == "roles_changed":
                        # The latest change counts: a token with an older roles_at has old roles.
                        known = roles_changed.get(entry["sub"])
                        if known is None or known[0] < entry["roles_at"]:
                            roles_changed[entry["sub"]] = (entry["roles_at"], entry["until"])
                for sid in [sid for sid, until in ended.items() if until < now]:
                    del ended[sid]
                for sub in [sub for sub, (_, until) in roles_changed.items() if until < now]:
                    del roles_changed[sub]
                last_read = time.monotonic()
            cursor = page["cursor"]
            if page["more"]:
                continue
        except Exception as error:  # latchkey unreachable: verify() fails closed after a while
            print(json.dumps({"msg": "revocation feed unreadable", "err": str(error)}), flush=True)
        time.sleep(POLL_SECONDS)


class Refused(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code = status, code


def verify(token):
    """The token's claims, or Refused: the checks latchkey's own routes make, and the feed."""
    if last_read is None or time.monotonic() - last_read > TOLERATE_SECONDS:
        raise Refused(503, "service_unavailable", "The revocation feed cannot be read.")
    try:
        if jwt.get_unverified_header(token).get("typ") != "at+jwt":
            raise jwt.InvalidTokenError("not an access token")
        key = jwks.get_signing_key_from_jwt(token).key
        claims = jwt.decode(
            token,
            key,
            algorithms=["EdDSA", "ES256"],
            audience=ORIGIN,
            issuer=ORIGIN,
            leeway=5,
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
    except (jwt.PyJWTError, ValueError) as error:
        raise Refused(401, "invalid_token", "The token is not valid.") from error
    if claims.get("kind") == "service" or not isinstance(claims.get("sid"), str):
        raise Refused(401, "invalid_token", "A user's token is needed.")
    # A token from before latchkey had roles carries none: its user had the role "user".
    claims.setdefault("roles", ["user"])
    roles_at = claims.setdefault("roles_at", 0)
    if not isinstance(claims["roles"], list) or not isinstance(roles_at, int) or isinstance(roles_at, bool):
        raise Refused(401, "invalid_token", "The token is not valid.")
    with lock:
        if claims["sid"] in ended:
            raise Refused(401, "invalid_token", "The token's session has ended.")
        change = roles_changed.get(claims["sub"])
        if change is not None and change[0] > roles_at:
            raise Refused(401, "invalid_token", "The user's roles have changed since this token was issued.")
    return claims


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/hello":
            return self.send(404, {"error": {"code": "not_found", "message": "Try GET /hello."}})
        header = self.headers.get("Authorization", "")
        try:
            if not header.lower().startswith("bearer "):
                raise Refused(401, "invalid_token", "A latchkey access token is required.")
            claims = verify(header[7:].strip())
        except Refused as refused:
            extra = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if refused.status == 401 else {}
            return self.send(refused.status, {"error": {"code": refused.code, "message": str(refused)}}, extra)
        self.send(200, {"hello": claims["sub"], "session": claims["sid"], "roles": claims["roles"]})

    def send(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    threading.Thread(target=follow_feed, daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    print(json.dumps({"msg": "python resource service listening", "port": server.server_address[1]}), flush=True)
    server.serve_forever()
