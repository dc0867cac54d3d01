"""Publishing: the public outputs of a round, as versioned files in a catalog."""
