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
        """Accounts and NOC corrected data protected, column-wise: only values that are
        really there go through the protector (a million API rows arrive with masked
        accounts and, mostly, no corrected data: nothing to encrypt for them)."""
        if "account_number" in frame.columns:
            account = pl.col("account_number").cast(pl.String)
            # The API may mask accounts ("****6789"): keep only what is really there.
            masked = account.is_not_null() & ~account.str.strip_chars().str.contains(r"^\d+$")
            flags = frame.select(
                masked.alias("masked"),
                pl.when(masked).then(None).otherwise(account).alias("clear"),
                account.str.strip_chars().str.slice(-4).alias("shown"),
            )
            clear = flags.get_column("clear")
            if clear.null_count() == clear.len():
                cts = hs = pl.Series(values=[None] * clear.len(), dtype=pl.Binary)
                l4 = pl.Series(values=[None] * clear.len(), dtype=pl.String)
            elif self.protector is None:
                raise StoreError("an AccountProtector ([security] account_key) is needed")
            else:
                ct_list, h_list, l4_list = self.protector.protect_many(clear.to_list())
                cts = pl.Series(values=ct_list, dtype=pl.Binary)
                hs = pl.Series(values=h_list, dtype=pl.Binary)
                l4 = pl.Series(values=l4_list, dtype=pl.String)
            l4 = flags.select(
                pl.when(pl.col("masked")).then(pl.col("shown")).otherwise(l4)
            ).to_series()
            frame = frame.drop("account_number").with_columns(
                cts.alias("account_ciphertext"),
                hs.alias("account_hash"),
                l4.alias("account_last4"),
            )
        if "noc_corrected_data" in frame.columns:
            data = frame.get_column("noc_corrected_data").cast(pl.String)
            present = data.is_not_null()
            cts_out: list[bytes | None] = [None] * frame.height
            masked_out: list[str | None] = [None] * frame.height
            if present.any():
                if self.protector is None:
                    raise StoreError("an AccountProtector ([security] account_key) is needed")
                rows = present.arg_true().to_list()
                codes = (
                    frame.get_column("noc_code").cast(pl.String).gather(rows).fill_null("")
                    if "noc_code" in frame.columns
                    else pl.Series([""] * len(rows), dtype=pl.String)
                )
                cts, masked_data = self.protector.protect_corrected_data(
                    codes.to_list(), data.gather(rows).to_list()
                )
                for i, ct, m in zip(rows, cts, masked_data, strict=True):
                    cts_out[i], masked_out[i] = ct, m
            frame = frame.drop("noc_corrected_data").with_columns(
                pl.Series("noc_corrected_ciphertext", cts_out, dtype=pl.Binary),
                pl.Series("noc_corrected_masked", masked_out, dtype=pl.String),
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
            # no JIT: the staging table has no statistics, and compiling the upsert for the
            # planner's guess cost more than running it
            self.conn.execute("SELECT set_config('jit', 'off', true)")
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
