-- The newest user.* event applied to each owner (UUIDv7, time-ordered), so
-- that an older event seen again (a replay) cannot bring back an old role.
-- NULL for rows seeded from a webhook's creator, which any event overrides.
ALTER TABLE webhook_owners ADD COLUMN last_event_id UUID;
