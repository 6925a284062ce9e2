"""connectFi ACH API client: token, create/validate/query/list/return-rates, typed errors."""

from pipeline.api.client import ConnectFiClient
from pipeline.api.errors import (
    ERROR_CLASSES,
    AchAttributes,
    AchEffectiveEntryDate,
    AchValidate,
    AchVerify,
    BadTimeFrameRequest,
    ConnectFiError,
    ConnectFiProtocolError,
    ConnectFiUnavailable,
    CurrencyNotSupported,
    GreaterMaximumNumberOfRecords,
    GreaterNumberOfRecords,
    ReferenceExists,
    RequestValidateError,
    ReturnRateNotFound,
    TransactionNotFound,
    TransactionQuery,
    TransactionReference,
    Unauthorized,
    WrongAmount,
)
from pipeline.api.frames import RETURN_RATE_SCHEMA, TRANSFER_SCHEMA, amount_to_cents
from pipeline.api.models import TransferRequest
from pipeline.api.settings import ApiSettings, Timeouts

__all__ = [
    "ERROR_CLASSES",
    "RETURN_RATE_SCHEMA",
    "TRANSFER_SCHEMA",
    "AchAttributes",
    "AchEffectiveEntryDate",
    "AchValidate",
    "AchVerify",
    "ApiSettings",
    "BadTimeFrameRequest",
    "ConnectFiClient",
    "ConnectFiError",
    "ConnectFiProtocolError",
    "ConnectFiUnavailable",
    "CurrencyNotSupported",
    "GreaterMaximumNumberOfRecords",
    "GreaterNumberOfRecords",
    "ReferenceExists",
    "RequestValidateError",
    "ReturnRateNotFound",
    "Timeouts",
    "TransactionNotFound",
    "TransactionQuery",
    "TransactionReference",
    "TransferRequest",
    "Unauthorized",
    "WrongAmount",
    "amount_to_cents",
]
