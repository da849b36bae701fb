"""The Jinja environment: templates, filters for times, durations, payloads and links."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from gnomon.ui.payloads import Args, Encoded, to_json_text
from gnomon.ui.values import FailureView, Span, human_duration, words


def time_tag(moment: datetime | None, empty: str = "—", precise: bool = False) -> Markup:
    """A ``<time>`` in UTC; the page's script rewrites it in local time and keeps UTC on hover.

    ``precise`` times (history events) keep their milliseconds.
    """
    if not isinstance(moment, datetime):  # None, or a field the message did not set
        return Markup(f'<span class="muted">{escape(empty)}</span>')
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%d %H:%M:%S") + (f".{utc.microsecond // 1000:03d}" if precise else "") + " UTC"
    iso = utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    extra = " data-precise" if precise else ""
    return Markup(f'<time datetime="{iso}" title="{text}"{extra}>{text}</time>')


def duration(value: float | Span | None) -> str:
    if value is None:
        return "—"
    return str(value) if isinstance(value, Span) else human_duration(value)


def workflow_url(namespace: str, workflow_id: str, run_id: str = "", tab: str = "") -> str:
    """The detail page of a run (its latest run when ``run_id`` is empty)."""
    url = f"/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
    if run_id:
        url += f"/{quote(run_id, safe='')}"
        if tab:
            url += f"/{tab}"
    return url


def namespace_url(namespace: str, section: str = "workflows") -> str:
    return f"/namespaces/{quote(namespace, safe='')}/{section}"


def with_params(path: str, **params: Any) -> str:
    """``path`` with the non-empty params as a query string."""
    kept = {k: v for k, v in params.items() if v not in (None, "", [], False)}
    return f"{path}?{urlencode(kept, doseq=True)}" if kept else path


def build_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("gnomon.ui", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        time=time_tag,
        duration=duration,
        json=to_json_text,
        words=words,
        urlquote=lambda s: quote(str(s), safe=""),
    )
    env.tests.update(
        args=lambda v: isinstance(v, Args),
        failure=lambda v: isinstance(v, FailureView),
        encoded=lambda v: isinstance(v, Encoded),
        span=lambda v: isinstance(v, Span),
        moment=lambda v: isinstance(v, datetime),
        scalar=lambda v: isinstance(v, str | int | float | bool) or v is None,
    )
    env.globals.update(
        workflow_url=workflow_url,
        namespace_url=namespace_url,
        with_params=with_params,
    )
    return env
