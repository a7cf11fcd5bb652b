"""LitServe APIs and pydantic schemas: wiring only, no ML logic."""
