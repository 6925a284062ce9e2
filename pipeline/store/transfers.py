"""Transfers as the connectFi API reports them, upserted in bulk (COPY into a temporary table,
then one INSERT … ON CONFLICT), and return-rate snapshots (ours and the API's)."""

from __future__ import annotations

import polars as pl
import psycopg

from pipeline.store.copy import stage_frame
from pipeline.store.errors import StoreError, translate_errors
from pipeline.store.protect import AccountProtector

TRANSFER_COLUMNS = (
    "cfi_transaction_id",
    "cfi_aggregator_id",
    "reference",
    "client_code",
    "status",
    "transaction_type",
    "sec_code",
    "account_type",
    "amount_cents",
    "currency",
    "effective_date",
    "settlement_date",
    "created_at_api",
    "updated_at_api",
    "trace_number",
    "routing_number",
    "individual_name",
    "company_entry_description",
    "return_code",
    "return_reason",
    "returned_at",
    "noc_code",
)
SNAPSHOT_COLUMNS = (
    "company_id",
    "sec_code",
    "report_date",
    "window_from",
    "window_to",
    "debits",
    "debits_ex_rck",
    "unauthorized_returns",
    "administrative_returns",
    "overall_returns",
    "unauthorized_rate_pct",
    "administrative_rate_pct",
    "overall_rate_pct",
    "unauthorized_days_out",
    "administrative_days_out",
    "overall_days_out",
)


class TransfersMixin:
    conn: psycopg.Connection
    protector: AccountProtector | None

    def _protect_transfer_fields(self, frame: pl.DataFrame) -> pl.DataFrame:
        if "account_number" in frame.columns:
            accounts = frame.get_column("account_number").to_list()
            # The API may mask accounts ("****6789"): keep only what is really there.
            masked = [a is not None and not a.strip().isdigit() for a in accounts]
            if self.protector is None and not all(
                m or a is None for m, a in zip(masked, accounts, strict=True)
            ):
                raise StoreError("an AccountProtector ([security] account_key) is needed")
            clear = [None if m else a for m, a in zip(masked, accounts, strict=True)]
            if self.protector is not None:
                cts, hs, l4 = self.protector.protect_many(clear)
            else:
                cts, hs, l4 = [None] * len(clear), [None] * len(clear), [None] * len(clear)
            l4 = [a.strip()[-4:] if m else x for m, a, x in zip(masked, accounts, l4, strict=True)]
            frame = frame.drop("account_number").with_columns(
                pl.Series("account_ciphertext", cts, dtype=pl.Binary),
                pl.Series("account_hash", hs, dtype=pl.Binary),
                pl.Series("account_last4", l4, dtype=pl.String),
            )
        if "noc_corrected_data" in frame.columns:
            if self.protector is None:
                raise StoreError("an AccountProtector ([security] account_key) is needed")
            data = frame.get_column("noc_corrected_data").to_list()
            codes = (
                frame.get_column("noc_code").to_list()
                if "noc_code" in frame.columns
                else [""] * len(data)
            )
            pairs = [(c or "", d) for c, d in zip(codes, data, strict=True)]
            cts, masked_data = self.protector.protect_corrected_data(
                [p[0] for p in pairs], [p[1] for p in pairs]
            )
            frame = frame.drop("noc_corrected_data").with_columns(
                pl.Series(
                    "noc_corrected_ciphertext",
                    [c if d is not None else None for c, d in zip(cts, data, strict=True)],
                    dtype=pl.Binary,
                ),
                pl.Series(
                    "noc_corrected_masked",
                    [m if d is not None else None for m, d in zip(masked_data, data, strict=True)],
                    dtype=pl.String,
                ),
            )
        return frame

    def upsert_transfers(self, transfers: pl.DataFrame) -> int:
        """Insert or update API transfers by cFiTransactionId; return rows written.

        Columns (snake_case of the API object, money in cents): cfi_transaction_id, status,
        amount_cents required; any of cfi_aggregator_id, reference, client_code,
        transaction_type, sec_code, account_type, currency, effective_date, settlement_date,
        created_at_api, updated_at_api, trace_number, routing_number, individual_name,
        company_entry_description, return_code, return_reason, returned_at, noc_code,
        noc_corrected_data (encrypted here), account_number (protected here; masked values
        from the API keep only their last four). Fields only gain information: a null in a
        later read keeps the known value. ``status_changed_at`` moves when status changes.
        The last row wins when one id appears twice in the frame.
        """
        required = ("cfi_transaction_id", "status", "amount_cents")
        missing = [c for c in required if c not in transfers.columns]
        if missing:
            raise ValueError(f"transfers frame lacks {missing}")
        allowed = {*TRANSFER_COLUMNS, "account_number", "noc_corrected_data"}
        unknown = sorted(set(transfers.columns) - allowed)
        if unknown:
            raise ValueError(f"unknown transfer column(s) {unknown}")
        frame = self._protect_transfer_fields(
            transfers.unique("cfi_transaction_id", keep="last", maintain_order=True)
        )
        cols = list(frame.columns)
        listed = ", ".join(cols)
        updates = ", ".join(
            f"{c} = coalesce(EXCLUDED.{c}, t.{c})" for c in cols if c != "cfi_transaction_id"
        )
        with translate_errors("upserting transfers"), self.conn.transaction():
            stage_frame(self.conn, "transfers", "transfers_in", frame, columns=cols)
            cur = self.conn.execute(
                f"INSERT INTO transfers AS t ({listed}) SELECT {listed} FROM transfers_in"
                f" ON CONFLICT (cfi_transaction_id) DO UPDATE SET {updates},"
                f" last_seen_at = now(),"
                f" status_changed_at = CASE WHEN t.status IS DISTINCT FROM EXCLUDED.status"
                f"   THEN now() ELSE t.status_changed_at END"
            )
            return cur.rowcount

    def record_rate_snapshots(self, snapshots: pl.DataFrame, *, source: str) -> int:
        """Upsert return-rate snapshots for (company_id, sec_code, report_date, source).

        ``source`` is ``ours`` (computed) or ``api`` (connectFi's return-rates). Columns:
        company_id, report_date, unauthorized_rate_pct, administrative_rate_pct,
        overall_rate_pct required; sec_code (null/absent = all SEC codes), window_from,
        window_to, debits, debits_ex_rck, *_returns, *_days_out optional.
        """
        if source not in ("ours", "api"):
            raise ValueError("source must be 'ours' or 'api'")
        required = (
            "company_id",
            "report_date",
            "unauthorized_rate_pct",
            "administrative_rate_pct",
            "overall_rate_pct",
        )
        missing = [c for c in required if c not in snapshots.columns]
        if missing:
            raise ValueError(f"snapshot frame lacks {missing}")
        frame = snapshots.select(c for c in SNAPSHOT_COLUMNS if c in snapshots.columns)
        frame = frame.with_columns(
            (pl.col("sec_code").fill_null("") if "sec_code" in frame.columns else pl.lit("")).alias(
                "sec_code"
            ),
            pl.lit(source).alias("source"),
        )
        cols = list(frame.columns)
        listed = ", ".join(cols)
        updates = ", ".join(
            f"{c} = EXCLUDED.{c}"
            for c in cols
            if c not in ("company_id", "sec_code", "report_date", "source")
        )
        with translate_errors("recording return-rate snapshots"), self.conn.transaction():
            stage_frame(self.conn, "return_rate_snapshots", "snapshots_in", frame, columns=cols)
            cur = self.conn.execute(
                f"INSERT INTO return_rate_snapshots ({listed}) SELECT {listed} FROM snapshots_in"
                f" ON CONFLICT (company_id, sec_code, report_date, source) DO UPDATE SET"
                f" {updates}, recorded_at = now()"
            )
            return cur.rowcount
