"""Remote parking (key-fob hold-to-move)."""
