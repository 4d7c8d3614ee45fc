"""The ingest engine: dataset sources' records -> parallel decode, crop, resize ->
ImageStore (`gantk.ingest.engine.ingest`), and the embedded demo data."""
