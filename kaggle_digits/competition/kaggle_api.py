"""The one adapter over the official `kaggle` client: credentials, calls, and its failures as one-line errors.

Nothing here knows about any particular server: the client reads KAGGLE_API_ENVIRONMENT (and requests reads
HTTP_PROXY) when it is imported, exactly as it does against kaggle.com.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import KaggleDigitsError

COMPETITION = "digit-recognizer"
TOKEN_PAGE = "https://www.kaggle.com/settings"
UPLOAD_FAILED = "Could not submit to competition"  # what the client returns, with ref 0, when an upload fails
RETRY_DELAYS = (1.0, 2.0, 4.0)  # seconds before each retry of a read (list, limits) that met a 429, 5xx or no answer
DAILY_LIMIT_WORDS = ("daily", "allowance", "submission limit")


@dataclass(frozen=True)
class RemoteSubmission:
    """One submission as Kaggle lists it."""

    ref: int
    date: datetime | None
    file_name: str
    description: str
    status: str  # PENDING, COMPLETE or ERROR
    public_score: str
    error: str


@dataclass(frozen=True)
class SubmissionLimits:
    """Today's submission count and how many more Kaggle accepts now."""

    used_today: int
    allowed_now: int


def rules_url(competition: str) -> str:
    return f"https://www.kaggle.com/competitions/{competition}/rules"


def config_dir() -> Path:
    return Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle")


def credentials_source() -> str:
    """Where the client will find credentials (never their values); a clear error when there are none."""
    if os.environ.get("KAGGLE_API_TOKEN"):
        return "KAGGLE_API_TOKEN"
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "KAGGLE_USERNAME and KAGGLE_KEY"
    kaggle_json = config_dir() / "kaggle.json"
    if kaggle_json.is_file():
        try:
            values = json.loads(kaggle_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise KaggleDigitsError(
                f"{kaggle_json}: not valid JSON; download a fresh token from {TOKEN_PAGE}"
            ) from None
        if not (isinstance(values, dict) and values.get("username") and values.get("key")):
            raise KaggleDigitsError(f'{kaggle_json}: needs "username" and "key"; download it again from {TOKEN_PAGE}')
        return str(kaggle_json)
    token_file = Path.home() / ".kaggle" / "access_token"
    if token_file.is_file() and token_file.read_text(encoding="utf-8").strip():
        return str(token_file)
    raise KaggleDigitsError(
        f"no Kaggle credentials found: create an API token at {TOKEN_PAGE}, save kaggle.json as {kaggle_json} "
        f"and run `chmod 600 {kaggle_json}` (or set KAGGLE_USERNAME and KAGGLE_KEY, or KAGGLE_API_TOKEN)"
    )


class KaggleClient:
    """Competition calls through the official client, connected on first use."""

    def __init__(
        self,
        competition: str = COMPETITION,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.competition = competition
        self.retry_delays, self.sleep = retry_delays, sleep
        self._api = None

    def _client(self):
        if self._api is None:
            credentials_source()
            quiet = io.StringIO()
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                try:
                    from kaggle.api.kaggle_api_extended import KaggleApi  # prints help at import without creds
                except ImportError as exc:  # pragma: no cover - the dependency is declared
                    raise KaggleDigitsError(f"the kaggle package is not importable ({exc}); run `make` again") from None
                api = KaggleApi()
                api.args = [a for a in api.args if a not in ("--verbose", "-v")]  # verbose dumps auth headers
                with self._translated("authenticating"):
                    try:
                        api.authenticate()
                    except SystemExit:
                        raise KaggleDigitsError(
                            f"Kaggle did not accept the credentials from {credentials_source()}; "
                            f"create a new API token at {TOKEN_PAGE}"
                        ) from None
            self._api = api
        return self._api

    @contextlib.contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Turn the client's exceptions (HTTPError with Kaggle's message, network errors) into ours."""
        import requests

        try:
            yield
        except requests.exceptions.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            raise KaggleDigitsError(self._http_message(action, status, str(exc))) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise KaggleDigitsError(
                f"{action}: cannot reach Kaggle ({type(exc).__name__}); check your network connection"
            ) from None

    def _read(self, action: str, call: Callable[[], object]) -> object:
        """A read-only call, retried with back-off on 429, 5xx and lost connections (uploads never come here)."""
        for delay in (*self.retry_delays, None):
            try:
                with self._translated(action):
                    return call()
            except KaggleDigitsError as exc:
                wait = _transient_wait(exc.__context__, delay)
                if delay is None or wait is None:
                    raise
                self.sleep(wait)
        raise AssertionError("unreachable")

    def _http_message(self, action: str, status: int | None, detail: str) -> str:
        detail = detail.splitlines()[0][:200] if detail else ""
        if status == 401:
            return f"{action}: Kaggle rejected the credentials (401); create a new API token at {TOKEN_PAGE}"
        if status == 403:
            return (
                f"{action}: Kaggle refused access (403); accept the competition rules at "
                f"{rules_url(self.competition)} (the API cannot accept them for you)"
            )
        if status == 404:
            return f"{action}: unknown competition {self.competition!r} (404); check --competition"
        if status in (400, 403, 429) and any(word in detail.lower() for word in DAILY_LIMIT_WORDS):
            return f"{action}: Kaggle's daily submission limit is reached; nothing was sent — try again after 00:00 UTC"
        if status == 429:
            return f"{action}: too many requests (429); wait a minute and try again"
        return f"{action}: Kaggle answered {status}: {detail}"

    def download(self, folder: Path) -> Path:
        """Download the competition's zip into `folder`; returns its path."""
        api = self._client()
        with self._translated("download"), contextlib.redirect_stdout(io.StringIO()):
            api.competition_download_files(self.competition, path=str(folder), force=True, quiet=False)
        zips = sorted(folder.glob("*.zip"))
        if not zips:
            raise KaggleDigitsError(f"download: Kaggle sent no zip file for {self.competition!r}")
        return zips[0]

    def submit(self, path: Path, message: str) -> tuple[int, str]:
        """Upload a submission; returns Kaggle's (ref, reply). A failed upload is an error, not ref 0."""
        api = self._client()
        with self._translated("submit"), contextlib.redirect_stdout(io.StringIO()):
            reply = api.competition_submit(str(path), message, self.competition, quiet=True)
        if not reply.ref or reply.message == UPLOAD_FAILED:
            raise KaggleDigitsError(f"submit: the upload of {path} failed; Kaggle's reply: {reply.message!r}")
        return reply.ref, reply.message

    def submissions(self, limit: int = 20) -> list[RemoteSubmission]:
        """Your most recent submissions, newest first."""
        api = self._client()
        listed = self._read("list submissions", lambda: api.competition_submissions(self.competition, page_size=limit))
        return [_remote(s) for s in listed or [] if s is not None][:limit]

    def limits(self) -> SubmissionLimits:
        """Today's submission count and how many more are allowed now, when Kaggle says."""
        api = self._client()
        from kagglesdk.competitions.types.competition_api_service import ApiGetSubmissionLimitsRequest

        request = ApiGetSubmissionLimitsRequest()
        request.competition_name = self.competition

        def call():
            with api.build_kaggle_client() as kaggle:
                return kaggle.competitions.competition_api_client.get_submission_limits(request)

        reply = self._read("submission limits", call)
        return SubmissionLimits(reply.num_today, reply.num_allowed_now)


def _remote(s) -> RemoteSubmission:
    status = getattr(s.status, "name", str(s.status))
    return RemoteSubmission(
        ref=s.ref,
        date=s.date,
        file_name=s.file_name or "",
        description=s.description or "",
        status=status,
        public_score=s.public_score or "",
        error=s.error_description or "",
    )


def _transient_wait(cause: BaseException | None, default: float | None) -> float | None:
    """Seconds to wait before retrying after `cause` (Kaggle's Retry-After when given), or None if not transient."""
    import requests

    if isinstance(cause, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return default
    response = getattr(cause, "response", None)
    if not isinstance(cause, requests.exceptions.HTTPError) or response is None:
        return None
    if response.status_code != 429 and response.status_code < 500:
        return None
    retry_after = response.headers.get("Retry-After", "")
    return float(retry_after) if retry_after.replace(".", "", 1).isdigit() else default
