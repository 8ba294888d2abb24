-- Each instance keeps the users it authenticates in a short-lived cache
-- (hub_identity_infrastructure::UserCache) and LISTENs on `users_changed`
-- to forget a user the moment a change of them commits, wherever it was
-- made: this instance, another instance, or by hand in psql. A trigger
-- rather than a NOTIFY in each repository write, so that no path that
-- changes a user can forget it. NOTIFY is transactional: listeners hear
-- it at commit, never for a change rolled back.
CREATE FUNCTION users_changed_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('users_changed', OLD.id::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_changed
    AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION users_changed_notify();
