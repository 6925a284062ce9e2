"""The nightly state machine: decide which steps to run, run them, remember, summarise.

Guarantees, in the order they are checked:

1. A non-banking day exits 99 (:class:`NotABankingDay`) unless ``force``.
2. A second concurrent run exits 75 at once (:class:`LockedError` from the ledger's lock).
3. A finished date is a no-op that returns the stored summary (and its exit code).
4. Otherwise the run resumes at the first step not done; ``from_step`` reruns that step and
   everything after it, ``only`` runs exactly one step.
5. A step is marked done only after its effects are committed (steps whose effects are one
   database transaction mark themselves done inside it, see :meth:`StepContext.mark_done_in`).
   A failing step is recorded as failed and the run stops there; the next run resumes at it.
6. ``dry_run`` runs collect, build and seal into a local directory, takes no lock, writes
   nothing to the ledger except one dry-run record.

The engine knows nothing of SFTP, PGP or HTTP: steps are callables given by the wiring.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from nacha.errors import AchpipeError
from pipeline.errors import EXIT_BREAKS, EXIT_OK, EXIT_RATE_LIMIT, ConfigError, NotABankingDay
from pipeline.logs import bind_run_id, get_logger, progress
from pipeline.run.seams import RunLedger, RunState
from pipeline.run.steps import STEPS, StepName, steps_from
from pipeline.run.summary import RunSummary, StepResult

DRY_RUN_STEPS: tuple[StepName, ...] = ("collect", "build", "seal")
log = get_logger("run")


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """What the operator asked for (``achpipe run`` flags)."""

    business_date: date
    job: str = "nightly"
    from_step: StepName | None = None
    only: StepName | None = None
    force: bool = False
    force_resend: bool = False
    reason: str | None = None
    dry_run: bool = False

    def __post_init__(self) -> None:
        if self.from_step is not None and self.only is not None:
            raise ConfigError("--from-step and --only cannot be combined")
        if self.force_resend and not (self.reason and self.reason.strip()):
            raise ConfigError("--force-resend requires --reason (it is written to the ledger)")
        if self.force_resend and self.dry_run:
            raise ConfigError("--force-resend cannot be combined with --dry-run")
        if self.reason and not self.force_resend:
            raise ConfigError("--reason is only meaningful with --force-resend")


@dataclass
class StepContext:
    """Handed to every step: the options, the run id, and a place to put summary facts."""

    options: RunOptions
    run_id: str
    ledger: RunLedger | None
    facts: dict[str, Any] = field(default_factory=dict)
    step: StepName | None = None
    _self_marked: bool = False

    @property
    def business_date(self) -> date:
        return self.options.business_date

    @property
    def log(self) -> logging.Logger:
        return get_logger(f"run.{self.step}" if self.step else "run")

    def self_marked(self) -> None:
        """The step marked itself done inside its own final transaction (with its effects)."""
        self._self_marked = True

    def add(self, key: str, amount: int) -> None:
        counts = self.facts.setdefault("counts", {})
        counts[key] = counts.get(key, 0) + amount


StepFn = Callable[[StepContext], Mapping[str, Any]]


@dataclass(frozen=True, kw_only=True)
class ExitPolicy:
    """Which findings turn a completed run into a non-zero exit (3 breaks, 4 rates)."""

    break_threshold: int = 0
    fail_on_rate_limit: bool = True

    def decide(self, facts: Mapping[str, Any]) -> tuple[int, str]:
        breaks = facts.get("breaks", {})
        count = int(breaks.get("count", 0)) if isinstance(breaks, Mapping) else 0
        if count > self.break_threshold:
            return (
                EXIT_BREAKS,
                f"{count} reconciliation break(s) above threshold {self.break_threshold}",
            )
        if self.fail_on_rate_limit and facts.get("rate_limit_crossed"):
            return EXIT_RATE_LIMIT, "a return-rate limit is crossed"
        return EXIT_OK, "ok"


class StepFailed(AchpipeError):
    """A step raised; carries the summary so far and the cause's exit code."""

    def __init__(self, step: StepName, cause: BaseException, summary: RunSummary) -> None:
        self.step = step
        self.summary = summary
        self.exit_code = getattr(cause, "exit_code", 1)
        super().__init__(f"step {step} failed: {cause}")


class NightlyRun:
    """Run the steps for one business date against a ledger."""

    def __init__(
        self,
        *,
        ledger: RunLedger,
        steps: Mapping[StepName, StepFn],
        is_banking_day: Callable[[date], bool],
        exit_policy: ExitPolicy | None = None,
        show_progress: bool = False,
    ) -> None:
        missing = [s for s in STEPS if s not in steps]
        if missing:
            raise ValueError(f"no implementation for steps: {', '.join(missing)}")
        self.ledger = ledger
        self.steps = steps
        self.is_banking_day = is_banking_day
        self.exit_policy = exit_policy or ExitPolicy()
        self.show_progress = show_progress

    def execute(self, options: RunOptions) -> RunSummary:
        if not options.force and not self.is_banking_day(options.business_date):
            raise NotABankingDay(
                f"{options.business_date.isoformat()} is not a banking day; nothing to do "
                "(use --force to run anyway)"
            )
        if options.dry_run:
            return self._dry_run(options)
        with self.ledger.lock(options.job):
            state = self.ledger.open_run(options.job, options.business_date)
            with bind_run_id(state.run_id):
                return self._run_locked(options, state)

    # ------------------------------------------------------------------------------------

    def _plan(self, options: RunOptions, state: RunState) -> tuple[StepName, ...]:
        if options.only is not None:
            return (options.only,)
        if options.from_step is not None:
            return steps_from(options.from_step)
        return STEPS

    def _run_locked(self, options: RunOptions, state: RunState) -> RunSummary:
        operator_override = options.only or options.from_step or options.force_resend
        if state.finished and not operator_override and state.summary is not None:
            log.info(
                "run already finished for this date; nothing to do", extra={"job": options.job}
            )
            return RunSummary.from_stored(state.summary, noop=True)

        plan = self._plan(options, state)
        if options.force_resend:
            self.ledger.record_event(
                state.run_id,
                "force_resend",
                {"reason": options.reason, "date": str(options.business_date)},
            )
            log.warning("forced resend requested", extra={"reason": options.reason})
            plan = tuple(dict.fromkeys((*plan, "upload", "verify")))
            plan = tuple(s for s in STEPS if s in plan)
            self.ledger.reset_steps(state.run_id, ("upload", "verify"))
        if options.only or options.from_step:
            self.ledger.reset_steps(state.run_id, plan)
        if operator_override:
            state = self.ledger.open_run(options.job, options.business_date)

        ctx = StepContext(options=options, run_id=state.run_id, ledger=self.ledger)
        prior = dict(state.summary or {}).get("facts", {})
        ctx.facts.update(prior if isinstance(prior, dict) else {})
        results: list[StepResult] = []
        with progress(
            STEPS,
            label=f"run {options.business_date}",
            show=self.show_progress,
            item_show_func=lambda step: step or "",
        ) as steps:
            for step in steps:
                failure = self._one(ctx, state, plan, step, options, results)
                if failure is not None:
                    raise failure

        summary = self._summary(options, state.run_id, results, ctx.facts)
        if all(r.outcome in ("done", "already_done") for r in results):
            self.ledger.finish_run(state.run_id, summary.status_for_ledger(), summary.to_json())
        return summary

    def _one(
        self,
        ctx: StepContext,
        state: RunState,
        plan: tuple[StepName, ...],
        step: StepName,
        options: RunOptions,
        results: list[StepResult],
    ) -> StepFailed | None:
        """Run or skip one step; returns the StepFailed to raise when it failed."""
        if state.done(step):
            stored = dict(state.steps[step].detail)
            _merge_facts(ctx.facts, stored.pop("facts", None))
            results.append(StepResult(step, "already_done", detail=stored))
            return None
        if step not in plan:
            results.append(StepResult(step, "not_run"))
            return None
        result = self._run_step(ctx, step)
        results.append(result)
        if result.outcome == "failed":
            # the summary lists every step: those after the failure did not run
            results.extend(StepResult(s, "not_run") for s in STEPS[STEPS.index(step) + 1 :])
            summary = self._summary(options, state.run_id, results, ctx.facts, error=result.error)
            return StepFailed(step, result.cause or RuntimeError(result.error), summary)
        return None

    def _run_step(self, ctx: StepContext, step: StepName) -> StepResult:
        ctx.step = step
        ctx._self_marked = False
        started = time.perf_counter()
        log.info("step started", extra={"step": step})
        try:
            detail = dict(self.steps[step](ctx))
        except Exception as exc:
            seconds = time.perf_counter() - started
            message = str(exc) or type(exc).__name__
            log.error(
                "step failed", extra={"step": step, "error": message, "seconds": round(seconds, 3)}
            )
            try:
                self.ledger.step_failed(ctx.run_id, step, message)
            except AchpipeError as record_exc:  # the ledger itself may be what failed
                log.error(
                    "could not record the failure", extra={"step": step, "error": str(record_exc)}
                )
            if not isinstance(exc, AchpipeError):
                raise
            return StepResult(step, "failed", seconds=seconds, error=message, cause=exc)
        seconds = time.perf_counter() - started
        _merge_facts(ctx.facts, detail.get("facts"))
        if not ctx._self_marked:
            self.ledger.step_done(ctx.run_id, step, {**detail, "seconds": round(seconds, 3)})
        log.info("step done", extra={"step": step, "seconds": round(seconds, 3), **_flat(detail)})
        shown = {k: v for k, v in detail.items() if k != "facts"}
        return StepResult(step, "done", seconds=seconds, detail=shown)

    def _dry_run(self, options: RunOptions) -> RunSummary:
        run_id = f"dry-{uuid.uuid4().hex[:12]}"
        with bind_run_id(run_id):
            ctx = StepContext(options=options, run_id=run_id, ledger=None)
            results: list[StepResult] = []
            for step in STEPS:
                if step not in DRY_RUN_STEPS:
                    results.append(StepResult(step, "not_run"))
                    continue
                ctx.step = step
                started = time.perf_counter()
                try:
                    detail = dict(self.steps[step](ctx))
                except AchpipeError as exc:
                    results.append(
                        StepResult(
                            step,
                            "failed",
                            seconds=time.perf_counter() - started,
                            error=str(exc),
                            cause=exc,
                        )
                    )
                    results.extend(StepResult(s, "not_run") for s in STEPS[STEPS.index(step) + 1 :])
                    summary = self._summary(options, run_id, results, ctx.facts, error=str(exc))
                    raise StepFailed(step, exc, summary) from exc
                _merge_facts(ctx.facts, detail.pop("facts", None))
                results.append(
                    StepResult(step, "done", seconds=time.perf_counter() - started, detail=detail)
                )
            summary = self._summary(options, run_id, results, ctx.facts)
            self.ledger.record_dry_run(options.job, options.business_date, summary.to_json())
            return summary

    def _summary(
        self,
        options: RunOptions,
        run_id: str,
        results: list[StepResult],
        facts: Mapping[str, Any],
        *,
        error: str | None = None,
    ) -> RunSummary:
        if error is not None:
            failed = next(r for r in results if r.outcome == "failed")
            code = int(getattr(failed.cause, "exit_code", 1))
            reason = f"step {failed.step} failed: {error}"
        else:
            code, reason = self.exit_policy.decide(facts)
        return RunSummary(
            run_id=run_id,
            job=options.job,
            business_date=options.business_date,
            dry_run=options.dry_run,
            steps=tuple(results),
            facts=dict(facts),
            exit_code=code,
            exit_reason=reason,
        )


def _merge_facts(facts: dict[str, Any], new: Any) -> None:
    """Step facts (files, counts, breaks, rates...) feed the summary; later steps win."""
    if isinstance(new, Mapping):
        facts.update(new)


def _flat(detail: Mapping[str, Any]) -> dict[str, Any]:
    """Scalar details only, for a log line (lists and tables stay in the summary)."""
    reserved = {"msg", "args", "message", "name", "levelname", "step"}
    return {
        k: v
        for k, v in detail.items()
        if isinstance(v, int | float | str | bool) and k not in reserved
    }
