"""Customer scoring: features kept current from events, RFM, value, lifecycle, churn and abuse scores."""
