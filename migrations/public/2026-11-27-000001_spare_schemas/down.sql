-- the spare schemas themselves are dropped with `tenant-admin spares clear`
-- before this runs; a leftover would be an orphan schema, never a tenant's
DROP TABLE spare_schemas;
DROP SEQUENCE spare_schema_numbers;
