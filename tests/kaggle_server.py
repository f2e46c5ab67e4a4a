"""A stand-in Kaggle server (stdlib http.server) speaking the competition API the official client uses.

The client, with KAGGLE_API_ENVIRONMENT=LOCALHOST and HTTP_PROXY pointing here, sends
`POST http://localhost/api/v1/<service>/<Method>` with a JSON body; downloads are redirected to a storage URL and
uploads PUT to the URL that StartSubmissionUpload hands out, as on kaggle.com. The server serves a zip built from
the bundled sample, scores uploads against the sample's held-back labels, and can fail on request.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

COMPETITION = "digit-recognizer"
USERNAME, KEY, TOKEN = "tester", "s3cr3t-key-0123456789", "KGAT_s3cr3t-token-9876543210"
SAMPLE_LABELS = Path(__file__).parent / "fixtures" / "sample_test_labels.txt"
DAILY_LIMIT = 5


def sample_zip_bytes() -> bytes:
    return (resources.files("kaggle_digits") / "sample" / "digit-recognizer-sample.zip").read_bytes()


@dataclass
class ServerState:
    """What the server holds and how it should misbehave; tests change these fields."""

    zip_bytes: bytes = field(default_factory=sample_zip_bytes)
    labels: np.ndarray = field(default_factory=lambda: np.loadtxt(SAMPLE_LABELS, dtype=np.int64))
    fail: dict[str, int] = field(default_factory=dict)  # method name → HTTP status to answer with, every time
    fail_next: dict[str, list[int]] = field(default_factory=dict)  # method name → statuses for its next calls only
    truncate_zip: bool = False
    fail_upload: bool = False
    pending_polls: int = 1  # list calls that still show a new submission as PENDING
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    submissions: list[dict] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    auth_headers: list[str] = field(default_factory=list)

    def score(self, body: bytes) -> tuple[str, str]:
        """(status, public score or error) for an uploaded CSV, as Kaggle's scorer would."""
        lines = body.decode("utf-8", "replace").strip().splitlines()
        if not lines or lines[0].strip() != "ImageId,Label" or len(lines) - 1 != len(self.labels):
            return "ERROR", f"Submission must have {len(self.labels)} rows and the header ImageId,Label"
        predicted = np.array([int(line.split(",")[1]) for line in lines[1:]])
        return "COMPLETE", f"{(predicted == self.labels).mean():.5f}"


class KaggleHandler(BaseHTTPRequestHandler):
    server: KaggleServer

    def log_message(self, *args) -> None:
        pass

    def _reply(self, status: int, payload: dict | bytes, content_type: str = "application/json", headers=None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, headers=None) -> None:
        self._reply(status, {"code": status, "message": message}, headers=headers)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        self.server.state.auth_headers.append(header)
        if header == f"Bearer {TOKEN}":
            return True
        if header.startswith("Basic "):
            return base64.b64decode(header[6:]).decode() == f"{USERNAME}:{KEY}"
        return False

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        state = self.server.state
        state.calls.append(f"GET {path}")
        if path == f"/storage/{COMPETITION}.zip":
            body = state.zip_bytes[: len(state.zip_bytes) // 2] if state.truncate_zip else state.zip_bytes
            headers = {"Last-Modified": formatdate(usegmt=True)}
            self._reply(200, body, "application/zip", headers)
        else:
            self._error(404, f"no such file {path}")

    def do_PUT(self) -> None:
        path = urlsplit(self.path).path
        state = self.server.state
        state.calls.append(f"PUT {path}")
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        token = path.rsplit("/", 1)[-1]
        if state.fail_upload or token not in state.uploads:
            self._reply(400, b"upload rejected", "text/plain")
            return
        state.uploads[token] = (state.uploads[token][0], body)
        self._reply(200, {})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        method = path.rsplit("/", 1)[-1]
        state = self.server.state
        state.calls.append(method)
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if method == "IntrospectToken":
            active = request.get("token") == TOKEN
            self._reply(200, {"active": active, "username": USERNAME if active else ""})
            return
        if state.fail_next.get(method):
            self._error(state.fail_next[method].pop(0), f"Injected failure for {method}", {"Retry-After": "0"})
            return
        if method in state.fail:
            self._error(state.fail[method], f"Injected failure for {method}", {"Retry-After": "0"})
            return
        if not self._authorised():
            self._error(401, "Unauthenticated")
            return
        competition = request.get("competitionName", COMPETITION)
        if competition != COMPETITION:
            self._error(404, f"Competition {competition} not found")
            return
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            self._error(404, f"Unknown method {method}")
        else:
            handler(request)

    def _api_DownloadDataFiles(self, request: dict) -> None:
        self.send_response(302)
        self.send_header("Location", f"http://localhost/storage/{COMPETITION}.zip")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _api_StartSubmissionUpload(self, request: dict) -> None:
        token = f"blob-{len(self.server.state.uploads) + 1}"
        self.server.state.uploads[token] = (request.get("fileName", ""), b"")
        self._reply(200, {"token": token, "createUrl": f"http://localhost/upload/{token}"})

    def _api_CreateSubmission(self, request: dict) -> None:
        state = self.server.state
        file_name, body = state.uploads.get(request.get("blobFileTokens", ""), ("", b""))
        if len(state.submissions) >= DAILY_LIMIT:
            self._error(
                400,
                f"Submission not allowed:  Your team has used its daily Submission allowance ({DAILY_LIMIT}) today, "
                "please try again tomorrow UTC (0 hours from now).",
            )
            return
        if not body:
            self._error(400, "No uploaded file for this token")
            return
        status, result = state.score(body)
        ref = 1000 + len(state.submissions)
        state.submissions.insert(
            0,
            {
                "ref": ref,
                "date": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z",
                "description": request.get("submissionDescription", ""),
                "fileName": file_name,
                "status": "PENDING",
                "_final": status,
                "_result": result,
                "_polls": state.pending_polls,
                "totalBytes": len(body),
            },
        )
        self._reply(200, {"message": "Successfully submitted to Digit Recognizer", "ref": ref})

    def _api_ListSubmissions(self, request: dict) -> None:
        listed = []
        for sub in self.server.state.submissions:
            if sub["_polls"] > 0:
                sub["_polls"] -= 1
            elif sub["status"] == "PENDING":
                sub["status"] = sub["_final"]
                sub["publicScore" if sub["_final"] == "COMPLETE" else "errorDescription"] = sub["_result"]
            listed.append({k: v for k, v in sub.items() if not k.startswith("_")})
        size = request.get("pageSize") or 20
        self._reply(200, {"submissions": listed[:size], "nextPageToken": ""})

    def _api_GetSubmissionLimits(self, request: dict) -> None:
        used = len(self.server.state.submissions)
        self._reply(200, {"numToday": used, "numTotal": used, "numAllowedNow": max(0, DAILY_LIMIT - used)})


class KaggleServer(ThreadingHTTPServer):
    """The server plus its state, on a free localhost port, in a background thread."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), KaggleHandler)
        self.state = ServerState()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> KaggleServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
