"""Acting on what comes back: payees, NOC application (auto or maker-checker), return
actions as data, re-initiation (RETRY PYMT) planning, and the guard before the build.

Entry points for the nightly run:

* after ingest: :func:`apply_actions` (return actions, NOCs, retry plan);
* before the build: :func:`screen_transfers` (payee master data and the rules; rejected rows
  carry the reason) and :func:`retry_transfers` (the planned retries to build);
* in the finance report: :func:`actions_report_sections`, :func:`render_actions_html`,
  :func:`actions_warnings`.
"""

from pipeline.actions.after_ingest import ActionsOutcome, apply_actions
from pipeline.actions.nocs import (
    NOC_APPLICATIONS_SCHEMA,
    NocOutcome,
    apply_nocs,
    approve_noc,
    noc_applications_frame,
    propose_noc,
    reject_noc,
)
from pipeline.actions.payees import (
    PAYEE_SCHEMA,
    Payee,
    authorize_payee,
    load_payees,
    payee_history_frame,
    payee_ref_expr,
    payees_frame,
)
from pipeline.actions.report import (
    ACTIONS_TITLES,
    actions_report_sections,
    actions_warnings,
    render_actions_html,
)
from pipeline.actions.retries import (
    MAX_REINITIATIONS,
    RETRY_DESCRIPTION,
    RETRY_PLAN_SCHEMA,
    link_sent_retries,
    plan_retries,
    retry_plan_frame,
    retry_reference,
    retry_transfers,
    scheduled_date,
)
from pipeline.actions.returns import (
    RETURN_ACTIONS_SCHEMA,
    ReturnOutcome,
    apply_return_actions,
    return_actions_frame,
)
from pipeline.actions.rules import (
    ACTION_TEXT,
    DEFAULT_RETURN_ACTIONS,
    FALLBACK_ACTION,
    RETURN_ACTIONS,
    ReturnAction,
)
from pipeline.actions.screen import REJECTED_SCHEMA, ScreenResult, screen, screen_transfers
from pipeline.actions.settings import ActionsSettings, RetrySchedule

__all__ = [
    "ACTIONS_TITLES",
    "ACTION_TEXT",
    "DEFAULT_RETURN_ACTIONS",
    "FALLBACK_ACTION",
    "MAX_REINITIATIONS",
    "NOC_APPLICATIONS_SCHEMA",
    "PAYEE_SCHEMA",
    "REJECTED_SCHEMA",
    "RETRY_DESCRIPTION",
    "RETRY_PLAN_SCHEMA",
    "RETURN_ACTIONS",
    "RETURN_ACTIONS_SCHEMA",
    "ActionsOutcome",
    "ActionsSettings",
    "NocOutcome",
    "Payee",
    "RetrySchedule",
    "ReturnAction",
    "ReturnOutcome",
    "ScreenResult",
    "actions_report_sections",
    "actions_warnings",
    "apply_actions",
    "apply_nocs",
    "apply_return_actions",
    "approve_noc",
    "authorize_payee",
    "link_sent_retries",
    "load_payees",
    "noc_applications_frame",
    "payee_history_frame",
    "payee_ref_expr",
    "payees_frame",
    "plan_retries",
    "propose_noc",
    "reject_noc",
    "render_actions_html",
    "retry_plan_frame",
    "retry_reference",
    "retry_transfers",
    "return_actions_frame",
    "scheduled_date",
    "screen",
    "screen_transfers",
]
