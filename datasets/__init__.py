"""Built-in data-side plugins: dataset sources, ingest helpers, de-duplication."""
