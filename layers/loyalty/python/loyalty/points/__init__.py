"""Points (积分) and member levels: earn rules, the ledger, accrual, expiry."""
