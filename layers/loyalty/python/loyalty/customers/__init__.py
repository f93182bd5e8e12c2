"""Customer profiles: mirrored from core banking, read by every other capability."""
