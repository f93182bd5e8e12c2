"""The loyalty engine's domain library, shipped to every function as a Lambda layer."""
