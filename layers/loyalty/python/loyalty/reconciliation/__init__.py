"""The daily reconciliation (日终对账): checks that the capabilities' books agree with one another, in
pages through their ports, checkpointed so that it resumes after a timeout (docs/reconciliation.md)."""
