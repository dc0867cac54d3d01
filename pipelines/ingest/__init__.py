"""Raw files in: archive, decode, read, normalise, with lineage on every row."""
