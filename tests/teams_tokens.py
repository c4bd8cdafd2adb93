"""Bot Framework tokens for tests: a signing key published the way the Bot Framework
publishes its own (OpenID metadata, then a JWKS with endorsements), and tokens signed
with it, or with a key nobody published.

The SDK fetches the metadata with blocking `requests` calls from inside the event loop,
so the server runs in a thread of its own.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Authority:
    metadata_url: str
    key: rsa.RSAPrivateKey
    kid: str = "laurel-test-key"

    def token(
        self,
        *,
        audience: str,
        service_url: str,
        key: rsa.RSAPrivateKey | None = None,
        expires_in: int = 3600,
        issuer: str = ISSUER,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "serviceurl": service_url,
            "nbf": now - 10,
            "iat": now - 10,
            "exp": now + expires_in,
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})


@contextmanager
def bot_framework_authority() -> Iterator[Authority]:
    key = new_key()
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="laurel-test-key", use="sig", endorsements=["msteams", "emulator"])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            root = f"http://127.0.0.1:{self.server.server_address[1]}"
            body = (
                {"issuer": ISSUER, "jwks_uri": f"{root}/keys"}
                if self.path.startswith("/openid")
                else {"keys": [jwk]}
            )
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Authority(f"http://127.0.0.1:{server.server_address[1]}/openid", key)
    finally:
        server.shutdown()
        server.server_close()
