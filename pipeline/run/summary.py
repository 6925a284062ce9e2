"""The run summary: one object for ``--json``, the ledger, and the human table.

JSON shape (stable contract)::

    {"run_id": "...", "job": "nightly", "date": "YYYY-MM-DD", "dry_run": false,
     "noop": false, "status": "ok" | "failed" | "incomplete",
     "steps": [{"step": "collect", "outcome": "done" | "already_done" | "not_run" | "failed",
                "seconds": 0.12, "detail": {...}, "error": null}, ...],
     "files_out": [{"name", "sha256", "entries", "debit_cents", "credit_cents", "state"}],
     "files_in": [{"name", "sha256", "kind", "state", "reason"}],
     "counts": {...}, "totals": {...}, "breaks": {"count": N, "by_class": {...}},
     "rates": [...], "reports_dir": "...",
     "exit_code": 0, "exit_reason": "ok"}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipeline.run.steps import StepName

# facts keys copied to the top level of the JSON summary, with their empty value.
_FACT_KEYS: dict[str, Any] = {
    "files_out": [],
    "files_in": [],
    "counts": {},
    "totals": {},
    "breaks": {"count": 0, "by_class": {}},
    "rates": [],
    "reports_dir": None,
}


@dataclass(frozen=True)
class StepResult:
    step: StepName
    outcome: str
    seconds: float = 0.0
    detail: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    cause: BaseException | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "outcome": self.outcome,
            "seconds": round(self.seconds, 3),
            "detail": dict(self.detail),
            "error": self.error,
        }


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    run_id: str | None
    job: str
    business_date: date
    dry_run: bool = False
    noop: bool = False
    steps: tuple[StepResult, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    exit_code: int = 0
    exit_reason: str = "ok"
    stored: Mapping[str, Any] | None = None

    @property
    def status(self) -> str:
        if any(s.outcome == "failed" for s in self.steps):
            return "failed"
        if any(s.outcome == "not_run" for s in self.steps) and not self.dry_run:
            return "incomplete"
        return "ok"

    def status_for_ledger(self) -> str:
        return self.status

    def to_json(self) -> dict[str, Any]:
        if self.stored is not None:
            return {**self.stored, "noop": self.noop}
        doc: dict[str, Any] = {
            "run_id": self.run_id,
            "job": self.job,
            "date": self.business_date.isoformat(),
            "dry_run": self.dry_run,
            "noop": self.noop,
            "status": self.status,
            "steps": [s.to_json() for s in self.steps],
        }
        for key, empty in _FACT_KEYS.items():
            doc[key] = self.facts.get(key, empty)
        doc["facts"] = {k: v for k, v in self.facts.items() if k not in _FACT_KEYS}
        doc["exit_code"] = self.exit_code
        doc["exit_reason"] = self.exit_reason
        return doc

    @classmethod
    def from_stored(cls, doc: Mapping[str, Any], *, noop: bool) -> RunSummary:
        return cls(
            run_id=doc.get("run_id"),
            job=str(doc.get("job", "nightly")),
            business_date=date.fromisoformat(str(doc["date"])),
            dry_run=bool(doc.get("dry_run", False)),
            noop=noop,
            exit_code=int(doc.get("exit_code", 0)),
            exit_reason=str(doc.get("exit_reason", "ok")),
            stored=dict(doc),
        )

    @classmethod
    def for_error(cls, *, job: str, business_date: date, exit_code: int, reason: str) -> RunSummary:
        """The summary printed when the run could not start (99, 75, 2...)."""
        return cls(
            run_id=None,
            job=job,
            business_date=business_date,
            exit_code=exit_code,
            exit_reason=reason,
        )

    def render(self) -> str:
        """A short human table: one line per step, then the headline numbers."""
        doc = self.to_json()
        lines = [
            f"achpipe run {doc['date']} ({doc['job']})  run {doc['run_id']}"
            + ("  [dry run]" if doc["dry_run"] else "")
            + ("  [already finished: nothing to do]" if doc["noop"] else "")
        ]
        for step in doc["steps"]:
            mark = {"done": "✔", "already_done": "·", "not_run": " ", "failed": "✘"}.get(
                step["outcome"], "?"
            )
            detail = ", ".join(
                f"{k}={v}"
                for k, v in step["detail"].items()
                if isinstance(v, int | float | str) and k != "seconds"
            )
            secs = f"{step['seconds']:.2f}s" if step["outcome"] == "done" else ""
            lines.append(f"  {mark} {step['step']:<10} {step['outcome']:<13} {secs:>8}  {detail}")
            if step.get("error"):
                lines.append(f"      {step['error']}")
        for f in doc["files_out"]:
            lines.append(f"  out: {f.get('name')}  {f.get('state', '')}")
        for f in doc["files_in"]:
            lines.append(f"  in:  {f.get('name')}  {f.get('kind', '')} {f.get('state', '')}")
        if doc["counts"]:
            lines.append("  counts: " + ", ".join(f"{k}={v}" for k, v in doc["counts"].items()))
        if doc["totals"]:
            lines.append(
                "  totals: " + ", ".join(f"{k}={_money(k, v)}" for k, v in doc["totals"].items())
            )
        breaks = doc["breaks"]
        if breaks.get("count"):
            lines.append(
                f"  breaks: {breaks['count']}  "
                + ", ".join(f"{k}={v}" for k, v in breaks.get("by_class", {}).items())
            )
        if doc["reports_dir"]:
            lines.append(f"  reports: {doc['reports_dir']}")
        lines.append(f"  exit {doc['exit_code']}: {doc['exit_reason']}")
        return "\n".join(lines)


def _money(key: str, value: Any) -> str:
    if key.endswith("_cents") and isinstance(value, int):
        return f"${value / 100:,.2f}"
    return str(value)
