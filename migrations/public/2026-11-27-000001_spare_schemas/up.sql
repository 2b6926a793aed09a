-- Spare schemas: tenant schemas made and migrated ahead of time. Creating a
-- tenant claims one and renames it (one catalog update) instead of creating
-- every table, index and sequence of a tenant while the caller waits.
-- Their names (tenant__spare_<n>) start with "tenant__", which no slug can
-- give: a slug starts with a letter.
CREATE SEQUENCE spare_schema_numbers;

CREATE TABLE spare_schemas (
    name           VARCHAR(63) PRIMARY KEY,
    schema_version VARCHAR(32) NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX spare_schemas_version_idx ON spare_schemas (schema_version, name);
