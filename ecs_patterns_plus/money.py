"""US dollars as the cost report and the review's cost section write them."""

from __future__ import annotations


def money(value: float | None) -> str:
    """``$1,234.56``; ``—`` without a price."""
    return "—" if value is None else f"${value:,.2f}"


def money_range(low: float | None, high: float | None) -> str:
    """One figure when both ends agree, else ``low to high``."""
    if low is None or high is None:
        return "—"
    if round(low, 2) == round(high, 2):
        return money(low)
    return f"{money(low)} to {money(high)}"


def signed(value: float) -> str:
    """``+$1.00``, ``-$1.00``, or ``±$0.00`` for less than half a cent."""
    return ("+" if value >= 0.005 else "-" if value <= -0.005 else "±") + money(abs(value))


def signed_range(low: float, high: float) -> str:
    """A change at the minimum and maximum task count: one figure when both agree."""
    return signed(low) if signed(low) == signed(high) else f"{signed(low)} to {signed(high)}"
