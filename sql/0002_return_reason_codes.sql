-- Return reason codes as data (shared/spec/returns-and-rates.md §2), so a rule change (R90
-- from 2028-03-17) is a new row, not new code. The rate views read this table.
--   rate_category  unauthorized (R05 R07 R10 R11 R29 R51) | administrative (R02 R03 R04) |
--                  other. Every debit return of kind 'return' on a non-RCK entry also counts
--                  toward the Overall rate, whatever its category.
--   kind           return | dishonor (R61-R70, by the ODFI) | contested (R71-R77, by the RDFI)
--   entry_scope    which entries the code is meant for: any | credit | rck | enr | iat
--   window_kind    banking_days | calendar_days | next_delivery | none
CREATE TABLE return_reason_codes (
    code           text     PRIMARY KEY CHECK (code ~ '^R[0-9]{2}$'),
    title          text     NOT NULL,
    initiator      text     NOT NULL,
    window_kind    text     NOT NULL
                   CHECK (window_kind IN ('banking_days', 'calendar_days', 'next_delivery', 'none')),
    window_days    smallint CHECK (window_days > 0),
    rate_category  text     NOT NULL CHECK (rate_category IN ('unauthorized', 'administrative', 'other')),
    kind           text     NOT NULL DEFAULT 'return' CHECK (kind IN ('return', 'dishonor', 'contested')),
    entry_scope    text     NOT NULL DEFAULT 'any' CHECK (entry_scope IN ('any', 'credit', 'rck', 'enr', 'iat')),
    wsud_required  boolean  NOT NULL DEFAULT false,
    effective_from date,
    effective_to   date,
    CHECK ((window_kind IN ('banking_days', 'calendar_days')) = (window_days IS NOT NULL))
);

INSERT INTO return_reason_codes
    (code, title, initiator, window_kind, window_days, rate_category, kind, entry_scope, wsud_required, effective_from)
VALUES
    ('R01', 'Insufficient funds', 'RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R02', 'Account closed', 'RDFI', 'banking_days', 2, 'administrative', 'return', 'any', false, NULL),
    ('R03', 'No account / unable to locate account', 'RDFI', 'banking_days', 2, 'administrative', 'return', 'any', false, NULL),
    ('R04', 'Invalid account number structure', 'RDFI', 'banking_days', 2, 'administrative', 'return', 'any', false, NULL),
    ('R05', 'Unauthorized debit to consumer account using corporate SEC code', 'RDFI', 'calendar_days', 60, 'unauthorized', 'return', 'any', true, NULL),
    ('R06', 'Returned per ODFI''s request', 'RDFI', 'none', NULL, 'other', 'return', 'any', false, NULL),
    ('R07', 'Authorization revoked by customer', 'RDFI', 'calendar_days', 60, 'unauthorized', 'return', 'any', true, NULL),
    ('R08', 'Payment stopped', 'RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R09', 'Uncollected funds', 'RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R10', 'Customer advises originator is not known and/or not authorized to debit', 'RDFI', 'calendar_days', 60, 'unauthorized', 'return', 'any', true, NULL),
    ('R11', 'Customer advises entry not in accordance with the terms of the authorization', 'RDFI', 'calendar_days', 60, 'unauthorized', 'return', 'any', true, NULL),
    ('R12', 'Account sold to another DFI', 'RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R13', 'Invalid ACH routing number', 'Operator', 'next_delivery', NULL, 'other', 'return', 'any', false, NULL),
    ('R14', 'Representative payee deceased or unable to continue', 'RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R15', 'Beneficiary or account holder deceased', 'RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R16', 'Account frozen / entry returned per OFAC instruction', 'RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R17', 'File record edit criteria / questionable circumstances', 'RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R18', 'Improper effective entry date', 'Operator', 'next_delivery', NULL, 'other', 'return', 'any', false, NULL),
    ('R19', 'Amount field error', 'Operator', 'next_delivery', NULL, 'other', 'return', 'any', false, NULL),
    ('R20', 'Non-transaction account', 'RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R21', 'Invalid company identification', 'RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R22', 'Invalid individual ID number', 'RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R23', 'Credit entry refused by receiver', 'RDFI', 'banking_days', 2, 'other', 'return', 'credit', false, NULL),
    ('R24', 'Duplicate entry', 'RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R25', 'Addenda error', 'Operator/RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R26', 'Mandatory field error', 'Operator/RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R27', 'Trace number error', 'Operator/RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R28', 'Routing number check digit error', 'Operator', 'next_delivery', NULL, 'other', 'return', 'any', false, NULL),
    ('R29', 'Corporate customer advises not authorized', 'RDFI', 'banking_days', 2, 'unauthorized', 'return', 'any', false, NULL),
    ('R30', 'RDFI not participant in check truncation program', 'Operator', 'next_delivery', NULL, 'other', 'return', 'any', false, NULL),
    ('R31', 'Permissible return entry (CCD/CTX only)', 'RDFI', 'none', NULL, 'other', 'return', 'any', false, NULL),
    ('R32', 'RDFI non-settlement', 'Operator', 'next_delivery', NULL, 'other', 'return', 'any', false, NULL),
    ('R33', 'Return of XCK entry', 'RDFI', 'calendar_days', 60, 'other', 'return', 'any', false, NULL),
    ('R34', 'Limited participation DFI', 'Operator/RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R35', 'Return of improper debit entry', 'Operator', 'next_delivery', NULL, 'other', 'return', 'any', false, NULL),
    ('R36', 'Return of improper credit entry', 'Operator', 'next_delivery', NULL, 'other', 'return', 'credit', false, NULL),
    ('R37', 'Source document presented for payment', 'RDFI', 'calendar_days', 60, 'other', 'return', 'any', true, NULL),
    ('R38', 'Stop payment on source document', 'RDFI', 'calendar_days', 60, 'other', 'return', 'any', false, NULL),
    ('R39', 'Improper source document / source document presented for payment', 'RDFI', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R40', 'Return of ENR entry by federal government agency', 'Federal agency', 'none', NULL, 'other', 'return', 'enr', false, NULL),
    ('R41', 'Invalid transaction code (ENR)', 'Federal agency', 'none', NULL, 'other', 'return', 'enr', false, NULL),
    ('R42', 'Routing number / check digit error (ENR)', 'Federal agency', 'none', NULL, 'other', 'return', 'enr', false, NULL),
    ('R43', 'Invalid DFI account number (ENR)', 'Federal agency', 'none', NULL, 'other', 'return', 'enr', false, NULL),
    ('R44', 'Invalid individual ID number / identification number (ENR)', 'Federal agency', 'none', NULL, 'other', 'return', 'enr', false, NULL),
    ('R45', 'Invalid individual name / company name (ENR)', 'Federal agency', 'none', NULL, 'other', 'return', 'enr', false, NULL),
    ('R46', 'Invalid representative payee indicator (ENR)', 'Federal agency', 'none', NULL, 'other', 'return', 'enr', false, NULL),
    ('R47', 'Duplicate enrollment (ENR)', 'Federal agency', 'none', NULL, 'other', 'return', 'enr', false, NULL),
    ('R50', 'State law affecting RCK acceptance', 'RDFI', 'banking_days', 2, 'other', 'return', 'rck', false, NULL),
    ('R51', 'Item related to RCK entry is ineligible or RCK entry is improper', 'RDFI', 'calendar_days', 60, 'unauthorized', 'return', 'rck', true, NULL),
    ('R52', 'Stop payment on item related to RCK entry', 'RDFI', 'calendar_days', 60, 'other', 'return', 'rck', false, NULL),
    ('R53', 'Item and RCK entry presented for payment', 'RDFI', 'calendar_days', 60, 'other', 'return', 'rck', true, NULL),
    ('R61', 'Misrouted return', 'ODFI', 'banking_days', 5, 'other', 'dishonor', 'any', false, NULL),
    ('R62', 'Return of erroneous or reversing debit', 'ODFI', 'banking_days', 5, 'other', 'dishonor', 'any', false, NULL),
    ('R67', 'Duplicate return', 'ODFI', 'banking_days', 5, 'other', 'dishonor', 'any', false, NULL),
    ('R68', 'Untimely return', 'ODFI', 'banking_days', 5, 'other', 'dishonor', 'any', false, NULL),
    ('R69', 'Field error(s)', 'ODFI', 'banking_days', 5, 'other', 'dishonor', 'any', false, NULL),
    ('R70', 'Permissible return not accepted / return not requested by ODFI', 'ODFI', 'banking_days', 5, 'other', 'dishonor', 'any', false, NULL),
    ('R71', 'Misrouted dishonored return', 'RDFI', 'banking_days', 2, 'other', 'contested', 'any', false, NULL),
    ('R72', 'Untimely dishonored return', 'RDFI', 'banking_days', 2, 'other', 'contested', 'any', false, NULL),
    ('R73', 'Timely original return', 'RDFI', 'banking_days', 2, 'other', 'contested', 'any', false, NULL),
    ('R74', 'Corrected return', 'RDFI', 'banking_days', 2, 'other', 'contested', 'any', false, NULL),
    ('R75', 'Return not a duplicate', 'RDFI', 'banking_days', 2, 'other', 'contested', 'any', false, NULL),
    ('R76', 'No errors found', 'RDFI', 'banking_days', 2, 'other', 'contested', 'any', false, NULL),
    ('R77', 'Non-acceptance of R62 dishonored return', 'RDFI', 'banking_days', 2, 'other', 'contested', 'any', false, NULL),
    ('R80', 'IAT entry coding error', 'Gateway', 'none', NULL, 'other', 'return', 'iat', false, NULL),
    ('R81', 'Non-participant in IAT program', 'Gateway', 'none', NULL, 'other', 'return', 'iat', false, NULL),
    ('R82', 'Invalid foreign receiving DFI identification', 'Gateway', 'none', NULL, 'other', 'return', 'iat', false, NULL),
    ('R83', 'Foreign receiving DFI unable to settle', 'Gateway', 'none', NULL, 'other', 'return', 'iat', false, NULL),
    ('R84', 'Entry not processed by gateway', 'Gateway', 'none', NULL, 'other', 'return', 'iat', false, NULL),
    ('R85', 'Incorrectly coded outbound international payment', 'RDFI/Gateway', 'banking_days', 2, 'other', 'return', 'any', false, NULL),
    ('R90', 'Entry returned due to RDFI''s sanctions compliance obligations', 'RDFI/Gateway', 'none', NULL, 'other', 'return', 'any', false, DATE '2028-03-17');

-- The Nacha limits (percent of debit entries; breach is strictly greater than the limit).
CREATE TABLE return_rate_limits (
    measure   text    PRIMARY KEY CHECK (measure IN ('unauthorized', 'administrative', 'overall')),
    limit_pct numeric NOT NULL CHECK (limit_pct > 0)
);
INSERT INTO return_rate_limits (measure, limit_pct) VALUES
    ('unauthorized', 0.5), ('administrative', 3.0), ('overall', 15.0);

-- Forward debit transaction codes that make up the rate denominators: live debits only, not
-- prenotes (28/38/48), not zero-dollar (29/39/49), not returns/NOCs (26/36/46/56...).
CREATE TABLE rate_debit_transaction_codes (
    transaction_code smallint PRIMARY KEY
);
INSERT INTO rate_debit_transaction_codes VALUES (27), (37), (47), (55);
