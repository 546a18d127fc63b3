"""Record-system adapters: one module per kind of system behind the RecordSystem port."""
