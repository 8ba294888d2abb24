-- Filters beyond event types (issue 20, point 7). A webhook may be limited
-- to some chantiers (only events whose data.chantier_id is listed; NULL:
-- every chantier) and to equality conditions on top-level data fields,
-- applied by the fan-out as JSON containment (data @> filters), so that a
-- filtered-out event costs no delivery row. The conditions are checked
-- against the catalog's schemas by the application; the table keeps their
-- shape: an object of scalars.
ALTER TABLE webhooks
    ADD COLUMN chantier_ids UUID[]
        CONSTRAINT webhooks_chantier_ids_size
        CHECK (chantier_ids IS NULL OR cardinality(chantier_ids) BETWEEN 1 AND 100),
    ADD COLUMN filters JSONB NOT NULL DEFAULT '{}'
        CONSTRAINT webhooks_filters_object CHECK (jsonb_typeof(filters) = 'object');
