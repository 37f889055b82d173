"""A push service on 127.0.0.1 for the tests: it receives what the app's sending library posts,
checks the VAPID signature (RFC 8292) and decrypts the payload (RFC 8291, aes128gcm) with the
keys of a subscription the test made, the way a browser vendor's service and the phone would.

    service = PushService.start()
    device = service.device()            # a subscription: its own P-256 key pair and secret
    device.info                          # {"endpoint", "keys": {…}}, as a browser gives it
    service.received                     # [Received(device, payload, claims, headers)]
    service.answer(device, 410)          # the next posts to it get 410 Gone
"""

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    token: str
    endpoint: str
    key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def info(self) -> dict:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64(point), "auth": b64(self.auth)}}


@dataclass
class Received:
    device: Device
    payload: dict
    claims: dict
    headers: dict
    vapid_key: str  # the application server's public key the signature was checked with


@dataclass
class PushService:
    server: ThreadingHTTPServer
    port: int
    devices: dict = field(default_factory=dict)
    received: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # (status, why) of requests it turned down
    answers: dict = field(default_factory=dict)  # token: status to answer instead of 201

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls) -> "PushService":
        service = cls.__new__(cls)
        handler = type("Handler", (_Handler,), {"service": service})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        cls.__init__(service, server, server.server_address[1])
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return service

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def device(self) -> Device:
        token = b64(os.urandom(12))
        device = Device(
            token=token,
            endpoint=f"{self.origin}/push/{token}",
            key=ec.generate_private_key(ec.SECP256R1()),
            auth=os.urandom(16),
        )
        self.devices[token] = device
        return device

    def answer(self, device: Device, status: int | None) -> None:
        if status is None:
            self.answers.pop(device.token, None)
        else:
            self.answers[device.token] = status

    def wait(self, count: int, seconds: float = 10) -> list:
        deadline = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received


def verify_vapid(authorization: str, audience: str) -> tuple[dict, str]:
    """The claims of a `vapid t=JWT,k=KEY` header after checking its ES256 signature with KEY,
    its audience and expiry (RFC 8292 §2, §3); raises ValueError otherwise."""
    scheme, _sep, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError(f"scheme {scheme!r}")
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    token, key = parts["t"], parts["k"]
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(unb64(header_b64))
    if header.get("alg") != "ES256":
        raise ValueError(f"alg {header.get('alg')!r}")
    signature = unb64(signature_b64)
    if len(signature) != 64:
        raise ValueError("signature is not r||s")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(key))
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        public.verify(
            encode_dss_signature(r, s),
            f"{header_b64}.{claims_b64}".encode(),
            ec.ECDSA(hashes.SHA256()),
        )
    except InvalidSignature:
        raise ValueError("bad signature") from None
    claims = json.loads(unb64(claims_b64))
    if claims.get("aud") != audience:
        raise ValueError(f"aud {claims.get('aud')!r}")
    if not time.time() < claims.get("exp", 0) <= time.time() + 24 * 3600:
        raise ValueError("exp not within 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise ValueError("sub")
    return claims, key


class _Handler(BaseHTTPRequestHandler):
    service: PushService

    def log_message(self, *args) -> None:  # quiet
        pass

    def _refuse(self, status: int, why: str) -> None:
        self.service.refused.append((status, why))
        self.send_response(status)
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        token = self.path.removeprefix("/push/")
        device = self.service.devices.get(token)
        if device is None:
            return self._refuse(404, "no such subscription")
        try:
            claims, key = verify_vapid(self.headers.get("Authorization", ""), self.service.origin)
        except (ValueError, KeyError) as error:
            return self._refuse(401, f"VAPID: {error}")
        if self.headers.get("Content-Encoding") != "aes128gcm" or "TTL" not in self.headers:
            return self._refuse(400, "Content-Encoding aes128gcm and TTL are required")
        status = self.service.answers.get(token)
        if status is not None:
            return self._refuse(status, "told to")
        try:
            plain = http_ece.decrypt(
                body, private_key=device.key, auth_secret=device.auth, version="aes128gcm"
            )
        except Exception as error:  # noqa: BLE001 - any failure to decrypt is the finding
            return self._refuse(400, f"decrypt: {error!r}")
        self.service.received.append(
            Received(
                device,
                json.loads(plain),
                claims,
                {k.lower(): v for k, v in self.headers.items()},
                key,
            )
        )
        self.send_response(201)
        self.send_header("Location", f"/message/{len(self.service.received)}")
        self.end_headers()
