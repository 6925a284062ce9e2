"""The builder's account masks equal the general masking rule for every length."""

from __future__ import annotations

import polars as pl
import pytest

from nacha.build import _account_masks
from nacha.masking import mask_account


@pytest.mark.parametrize(
    "accounts",
    [
        ["1", "12", "1234", "12345", "ABC-123456789", "12345678901234567"],
        ["123456789", "98765", None],
    ],
)
def test_account_masks_match_mask_account(accounts: list[str | None]) -> None:
    masks = _account_masks(pl.Series("account_number", accounts, dtype=pl.String))
    assert masks.to_list() == [mask_account(a) for a in accounts]
