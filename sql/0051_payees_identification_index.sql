-- Payees are also found by their (possibly NOC-corrected) identification number when the
-- payee key is the identification number (pipeline/actions/payees.py load_payees).
CREATE INDEX payees_identification_idx ON payees (identification_number);
