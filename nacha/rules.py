"""The rule table: every finding the reader or validator can report, as data.

Each :class:`Rule` has a stable ``code`` (``entry.rdfi_check_digit``, ``batch.entry_hash``,
``file.block_count`` ...), the record type it concerns, the default severity and the
relaxations (:class:`~nacha.options.ValidateOptions` attribute names) that turn it into a
warning. The checks themselves live in :mod:`nacha.validator` and the ``nacha.validation_*``
modules as polars expressions keyed by
these codes; SEC-specific behaviour comes from :mod:`nacha.codes` rows, not per-SEC code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    record_type: str
    description: str
    relaxed_by: tuple[str, ...] = ()
    severity: str = "error"


def _rules(*rows: Rule) -> dict[str, Rule]:
    return {r.code: r for r in rows}


RULES: dict[str, Rule] = _rules(
    # --- physical (reader)
    Rule("file.empty", "file", "the input has no records"),
    Rule("file.blank_line", "file", "blank line between records", ("allow_blank_lines",)),
    Rule("record.short", "record", "record shorter than 94 characters", ("lenient_line_length",)),
    Rule(
        "record.long",
        "record",
        "record longer than 94 characters (trailing blanks)",
        ("lenient_line_length",),
    ),
    Rule("record.overflow", "record", "data after position 94"),
    Rule("record.non_ascii", "record", "non-ASCII characters", ("allow_special_characters",)),
    Rule("record.control_character", "record", "control characters in a record"),
    Rule("record.type", "record", "unknown record type code"),
    # --- structure (reader)
    Rule(
        "file.missing_header",
        "file_header",
        "no file header record",
        ("allow_missing_file_header",),
    ),
    Rule(
        "file.missing_control",
        "file_control",
        "no file control record",
        ("allow_missing_file_control",),
    ),
    Rule(
        "batch.missing_control",
        "batch_control",
        "batch without batch control record",
        ("allow_missing_file_control",),
    ),
    Rule("file.record_order", "file", "record out of order"),
    Rule("file.records_after_control", "file", "records after the file control"),
    Rule("entry.outside_batch", "entry", "entry detail outside a batch"),
    Rule("addenda.outside_entry", "addenda", "addenda without an entry detail"),
    Rule("batch.no_entries", "batch_header", "batch without entries"),
    Rule(
        "file.padding",
        "file",
        "record count is not a multiple of the blocking factor 10",
        ("allow_unpadded_file", "allow_missing_file_header", "allow_missing_file_control"),
    ),
    Rule(
        "file.block_count",
        "file_control",
        "block count differs from the records",
        ("allow_block_count_mismatch",),
    ),
    Rule("file.no_batches", "file", "file without batches", ("allow_zero_batches",), "warning"),
    # --- field formats (from the layouts)
    Rule("field.numeric", "record", "numeric field with non-digits"),
    Rule("field.characters", "record", "alphanumeric field with control characters"),
    Rule("field.constant", "record", "field must hold a fixed value"),
    Rule("field.required", "record", "mandatory field is blank"),
    # --- file header
    Rule(
        "file_header.immediate_destination",
        "file_header",
        "immediate destination is not a valid routing number",
        ("bypass_destination_validation",),
    ),
    Rule(
        "file_header.immediate_origin",
        "file_header",
        "immediate origin is not a valid routing number (requireABAOrigin)",
        ("bypass_origin_validation",),
    ),
    Rule(
        "file_header.file_creation_date",
        "file_header",
        "invalid file creation date",
        ("skip_file_creation_validation",),
    ),
    Rule(
        "file_header.file_creation_time",
        "file_header",
        "invalid file creation time",
        ("skip_file_creation_validation",),
    ),
    Rule("file_header.file_id_modifier", "file_header", "file ID modifier must be A-Z or 0-9"),
    Rule(
        "file_header.file_id_modifier_blank",
        "file_header",
        "file ID modifier is blank (operators reject it; some bank-generated inbound files "
        "carry it)",
        (),
        "warning",
    ),
    # --- batch header / control
    Rule("batch.service_class_code", "batch_header", "unknown service class code"),
    Rule("batch.sec_code", "batch_header", "unknown SEC code"),
    Rule(
        "batch.company_name",
        "batch_header",
        "company name blank or all zeros",
        ("skip_batch_header_company_validation",),
    ),
    Rule(
        "batch.company_id",
        "batch_header",
        "company identification blank",
        ("skip_batch_header_company_validation",),
    ),
    Rule(
        "batch.company_entry_description",
        "batch_header",
        "company entry description blank or all zeros",
        ("skip_batch_header_company_validation",),
    ),
    Rule(
        "batch.effective_entry_date",
        "batch_header",
        "effective entry date is not a YYMMDD date (operators settle such entries at the "
        "earliest opportunity; the builder never writes one)",
        (),
        "warning",
    ),
    Rule("batch.originator_status_code", "batch_header", "invalid originator status code"),
    Rule(
        "batch.reserved_description",
        "batch_header",
        "reserved company entry description used with the wrong SEC or direction",
        (),
        "warning",
    ),
    Rule(
        "batch.control_service_class_code",
        "batch_control",
        "service class code differs from the header",
        ("unequal_service_class_code",),
    ),
    Rule(
        "batch.control_company_id",
        "batch_control",
        "company ID differs from the header",
        ("bypass_company_identification_match",),
    ),
    Rule("batch.control_odfi_id", "batch_control", "ODFI identification differs from the header"),
    Rule("batch.control_batch_number", "batch_control", "batch number differs from the header"),
    Rule("batch.entry_addenda_count", "batch_control", "entry/addenda count differs"),
    Rule("batch.entry_hash", "batch_control", "entry hash differs"),
    Rule("batch.total_debit", "batch_control", "total debit amount differs"),
    Rule("batch.total_credit", "batch_control", "total credit amount differs"),
    Rule(
        "batch.number_order",
        "batch_header",
        "batch numbers do not ascend",
        ("allow_unordered_batch_numbers",),
    ),
    # --- entries
    Rule("entry.transaction_code", "entry", "invalid transaction code"),
    Rule(
        "entry.rdfi_check_digit",
        "entry",
        "RDFI check digit is wrong",
        ("allow_invalid_check_digit",),
    ),
    Rule("entry.dfi_account_number", "entry", "DFI account number is blank"),
    Rule(
        "entry.zero_dollar_addenda",
        "entry",
        "zero-dollar CCD/CTX remittance entry (x4/x9) without addenda",
    ),
    Rule(
        "entry.amount_zero", "entry", "live entry with a zero amount", ("allow_zero_entry_amount",)
    ),
    Rule(
        "entry.prenote_amount",
        "entry",
        "prenote or zero-dollar entry with an amount",
        ("allow_invalid_amounts",),
    ),
    Rule(
        "entry.addenda_indicator",
        "entry",
        "addenda record indicator disagrees with addenda",
        ("custom_trace_numbers",),
    ),
    Rule(
        "entry.trace_odfi",
        "entry",
        "trace number prefix is not the batch's ODFI",
        ("custom_trace_numbers", "bypass_origin_validation"),
    ),
    Rule(
        "entry.trace_order",
        "entry",
        "trace numbers do not ascend within the batch",
        ("custom_trace_numbers",),
    ),
    Rule("entry.trace_duplicate", "entry", "trace number used twice in the file", (), "warning"),
    Rule(
        "entry.individual_name",
        "entry",
        "receiver name blank or all zeros",
        ("allow_empty_individual_name",),
    ),
    Rule("entry.service_class", "entry", "entry direction not allowed by the service class"),
    Rule("entry.sec_direction", "entry", "entry direction not allowed for the SEC code"),
    Rule("entry.payment_type", "entry", "WEB/TEL payment type code must be R, S or ST"),
    Rule(
        "entry.addenda_count",
        "entry",
        "addenda count differs from the entry's count field",
        ("unequal_addenda_counts",),
    ),
    # --- addenda
    Rule("addenda.type_code", "addenda", "unknown addenda type code"),
    Rule("addenda.sec_type", "addenda", "addenda type not allowed for the SEC code"),
    Rule(
        "addenda.too_many",
        "addenda",
        "more addenda than the SEC allows",
        ("unequal_addenda_counts",),
    ),
    Rule("addenda.sequence_number", "addenda", "addenda sequence numbers must run 1, 2, ..."),
    Rule(
        "addenda.entry_detail_sequence",
        "addenda",
        "entry detail sequence number differs from the entry's trace",
        ("custom_trace_numbers",),
    ),
    Rule(
        "addenda.return_reason_code",
        "addenda",
        "unknown return reason code",
        ("custom_return_codes",),
    ),
    Rule("addenda.change_code", "addenda", "unknown change code"),
    Rule("addenda.corrected_data", "addenda", "corrected data does not fit the change code"),
    Rule("addenda.iat_mandatory", "addenda", "IAT entry lacks its mandatory addenda 10-16"),
    Rule("addenda.iat_transaction_type", "addenda", "invalid IAT transaction type code"),
    Rule(
        "addenda.iat_sequence_number",
        "addenda",
        "IAT addenda 17 or 18 not numbered 1, 2, ... (moov-io and banks accept other numbering)",
        (),
        "warning",
    ),
    # --- file control
    Rule("file.batch_count", "file_control", "batch count differs"),
    Rule("file.entry_addenda_count", "file_control", "entry/addenda count differs"),
    Rule("file.entry_hash", "file_control", "entry hash differs"),
    Rule("file.total_debit", "file_control", "total debit amount differs"),
    Rule("file.total_credit", "file_control", "total credit amount differs"),
)


def rules_frame():  # type: ignore[no-untyped-def]
    """The rule table as a polars frame (code, record_type, description, relaxed_by, severity)."""
    import polars as pl

    return pl.DataFrame(
        {
            "code": [r.code for r in RULES.values()],
            "record_type": [r.record_type for r in RULES.values()],
            "description": [r.description for r in RULES.values()],
            "relaxed_by": [list(r.relaxed_by) for r in RULES.values()],
            "severity": [r.severity for r in RULES.values()],
        },
        schema_overrides={"relaxed_by": pl.List(pl.String)},
    )
