"""Demo workspace content for `make demo`: the fictional Northwind Cloud help desk in ``seed_data.json``."""
