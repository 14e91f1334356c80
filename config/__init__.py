"""Stack config: schema, catalogs, sizing and validation (pure), plus the Pulumi loader."""
