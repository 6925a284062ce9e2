-- Compliance views: rolling 60-day Nacha return rates per originator (company id) and per
-- (originator, SEC code), one row per report date. Definition (shared/spec/returns-and-rates.md
-- §3.2, period method, counts of entries, not dollars):
--
--   window(d)     = calendar days [d - 60, d - 1]
--   debits        = forward debit entries (rate_debit_transaction_codes: 27 37 47 55) whose
--                   settlement date (fallback: effective entry date) is in the window
--   returns_X     = returns of kind 'return' (not dishonor/contested, and not standing
--                   dishonored) of those forward debit entries, whose return settlement date
--                   (fallback: date received) is in the window, with a code in set X
--                   (unauthorized / administrative per return_reason_codes; overall = any)
--   overall       excludes entries with SEC = RCK from numerator and denominator
--   rate_pct      = 100 * returns_X / debits (0 when debits = 0)
--   breach        = rate_pct > limit_pct (strictly greater; equal is compliant)
--   days_out      = consecutive report dates, ending on d, in breach (0 when not in breach)
--
-- Returns are attributed through the entry they return (returns.entry_id), so a return whose
-- original entry is not in the ledger does not count (the same inner join reconcile/ does).
-- Report dates run from the day after an originator's first activity to 60 days after its
-- last one; outside that range every window is empty.

-- Returns that count: kind 'return' (unknown codes count as plain returns) on a forward debit,
-- unless an ODFI dishonor (R61-R70) of the same entry stands (no contested R71-R77 after it).
CREATE VIEW rate_counted_returns AS
SELECT r.id AS return_id,
       r.entry_id,
       e.company_id,
       e.sec_code,
       r.return_code,
       coalesce(c.rate_category, 'other') AS rate_category,
       coalesce(r.settlement_date, r.received_date) AS return_day
FROM returns r
JOIN entries e ON e.id = r.entry_id
LEFT JOIN return_reason_codes c ON c.code = r.return_code
WHERE coalesce(c.kind, 'return') = 'return'
  AND e.transaction_code IN (SELECT transaction_code FROM rate_debit_transaction_codes)
  AND NOT EXISTS (
        SELECT 1
        FROM returns d
        JOIN return_reason_codes dc ON dc.code = d.return_code AND dc.kind = 'dishonor'
        WHERE d.entry_id = r.entry_id
          AND NOT EXISTS (
                SELECT 1
                FROM returns x
                JOIN return_reason_codes xc ON xc.code = x.return_code AND xc.kind = 'contested'
                WHERE x.entry_id = r.entry_id));

-- Daily activity per (company_id, sec_code, day); sec_code NULL rows are the originator total.
CREATE VIEW rate_daily_activity AS
WITH debit_days AS (
    SELECT e.company_id, e.sec_code,
           coalesce(e.settlement_date, e.effective_date) AS day,
           count(*) AS debits,
           count(*) FILTER (WHERE e.sec_code <> 'RCK') AS debits_ex_rck
    FROM entries e
    WHERE e.transaction_code IN (SELECT transaction_code FROM rate_debit_transaction_codes)
    GROUP BY 1, 2, 3
), return_days AS (
    SELECT company_id, sec_code, return_day AS day,
           count(*) FILTER (WHERE rate_category = 'unauthorized') AS unauthorized_returns,
           count(*) FILTER (WHERE rate_category = 'administrative') AS administrative_returns,
           count(*) FILTER (WHERE sec_code <> 'RCK') AS overall_returns
    FROM rate_counted_returns
    GROUP BY 1, 2, 3
), by_sec AS (
    SELECT coalesce(d.company_id, r.company_id) AS company_id,
           coalesce(d.sec_code, r.sec_code) AS sec_code,
           coalesce(d.day, r.day) AS day,
           coalesce(d.debits, 0) AS debits,
           coalesce(d.debits_ex_rck, 0) AS debits_ex_rck,
           coalesce(r.unauthorized_returns, 0) AS unauthorized_returns,
           coalesce(r.administrative_returns, 0) AS administrative_returns,
           coalesce(r.overall_returns, 0) AS overall_returns
    FROM debit_days d
    FULL JOIN return_days r
      ON r.company_id = d.company_id AND r.sec_code = d.sec_code AND r.day = d.day
)
SELECT company_id, sec_code, day, debits, debits_ex_rck,
       unauthorized_returns, administrative_returns, overall_returns
FROM by_sec
UNION ALL
SELECT company_id, NULL, day, sum(debits), sum(debits_ex_rck),
       sum(unauthorized_returns), sum(administrative_returns), sum(overall_returns)
FROM by_sec
GROUP BY company_id, day;

-- One row per (company_id, sec_code or NULL, report_date) with the rolling 60-day rates.
CREATE VIEW return_rates_daily AS
WITH bounds AS (
    SELECT company_id, sec_code, min(day) AS first_day, max(day) AS last_day
    FROM rate_daily_activity
    GROUP BY company_id, sec_code
), calendar AS (
    SELECT b.company_id, b.sec_code, g.day::date AS day, b.first_day
    FROM bounds b,
         generate_series(b.first_day, b.last_day + 60, interval '1 day') AS g(day)
), dense AS (
    SELECT c.company_id, c.sec_code, c.day, c.first_day,
           coalesce(a.debits, 0) AS debits,
           coalesce(a.debits_ex_rck, 0) AS debits_ex_rck,
           coalesce(a.unauthorized_returns, 0) AS unauthorized_returns,
           coalesce(a.administrative_returns, 0) AS administrative_returns,
           coalesce(a.overall_returns, 0) AS overall_returns
    FROM calendar c
    LEFT JOIN rate_daily_activity a
      ON a.company_id = c.company_id
     AND a.sec_code IS NOT DISTINCT FROM c.sec_code
     AND a.day = c.day
), rolling AS (
    SELECT company_id, sec_code, day AS report_date, first_day,
           (day - 60) AS window_from, (day - 1) AS window_to,
           coalesce(sum(debits) OVER w, 0)::bigint AS debits,
           coalesce(sum(debits_ex_rck) OVER w, 0)::bigint AS debits_ex_rck,
           coalesce(sum(unauthorized_returns) OVER w, 0)::bigint AS unauthorized_returns,
           coalesce(sum(administrative_returns) OVER w, 0)::bigint AS administrative_returns,
           coalesce(sum(overall_returns) OVER w, 0)::bigint AS overall_returns
    FROM dense
    WINDOW w AS (PARTITION BY company_id, sec_code ORDER BY day
                 RANGE BETWEEN interval '60 days' PRECEDING AND interval '1 day' PRECEDING)
), flagged AS (
    SELECT r.*,
           (r.unauthorized_returns * 100 > lu.limit_pct * r.debits) AS unauthorized_breach,
           (r.administrative_returns * 100 > la.limit_pct * r.debits) AS administrative_breach,
           (r.overall_returns * 100 > lo.limit_pct * r.debits_ex_rck) AS overall_breach,
           lu.limit_pct AS unauthorized_limit_pct,
           la.limit_pct AS administrative_limit_pct,
           lo.limit_pct AS overall_limit_pct
    FROM rolling r
    CROSS JOIN (SELECT limit_pct FROM return_rate_limits WHERE measure = 'unauthorized') lu
    CROSS JOIN (SELECT limit_pct FROM return_rate_limits WHERE measure = 'administrative') la
    CROSS JOIN (SELECT limit_pct FROM return_rate_limits WHERE measure = 'overall') lo
), scored AS (
SELECT company_id, sec_code, report_date, first_day, window_from, window_to,
       debits, debits_ex_rck,
       unauthorized_returns, administrative_returns, overall_returns,
       CASE WHEN debits = 0 THEN 0
            ELSE round(unauthorized_returns * 100.0 / debits, 6) END AS unauthorized_rate_pct,
       CASE WHEN debits = 0 THEN 0
            ELSE round(administrative_returns * 100.0 / debits, 6) END AS administrative_rate_pct,
       CASE WHEN debits_ex_rck = 0 THEN 0
            ELSE round(overall_returns * 100.0 / debits_ex_rck, 6) END AS overall_rate_pct,
       unauthorized_limit_pct, administrative_limit_pct, overall_limit_pct,
       unauthorized_breach, administrative_breach, overall_breach,
       CASE WHEN unauthorized_breach THEN report_date - coalesce(
                max(report_date) FILTER (WHERE NOT unauthorized_breach) OVER c, first_day - 1)
            ELSE 0 END AS unauthorized_days_out,
       CASE WHEN administrative_breach THEN report_date - coalesce(
                max(report_date) FILTER (WHERE NOT administrative_breach) OVER c, first_day - 1)
            ELSE 0 END AS administrative_days_out,
       CASE WHEN overall_breach THEN report_date - coalesce(
                max(report_date) FILTER (WHERE NOT overall_breach) OVER c, first_day - 1)
            ELSE 0 END AS overall_days_out
FROM flagged
WINDOW c AS (PARTITION BY company_id, sec_code ORDER BY report_date
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT company_id, sec_code, report_date, window_from, window_to,
       debits, debits_ex_rck, unauthorized_returns, administrative_returns, overall_returns,
       unauthorized_rate_pct, administrative_rate_pct, overall_rate_pct,
       unauthorized_limit_pct, administrative_limit_pct, overall_limit_pct,
       unauthorized_breach, administrative_breach, overall_breach,
       unauthorized_days_out, administrative_days_out, overall_days_out
FROM scored
WHERE report_date > first_day;

-- What compliance reads: per originator (all SEC codes together) and per (originator, SEC).
CREATE VIEW return_rates_by_originator AS
SELECT * FROM return_rates_daily WHERE sec_code IS NULL;

CREATE VIEW return_rates_by_sec_code AS
SELECT * FROM return_rates_daily WHERE sec_code IS NOT NULL;
