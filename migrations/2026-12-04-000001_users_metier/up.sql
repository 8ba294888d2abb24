-- A user's trade (métier), as the company names it: free text that identity
-- keeps and `user.created` / `user.updated` carry. The planning de charge maps
-- it onto its trades for the per-trade occupation; every context's users read
-- model (the platform directory's shape) gets the column, so the one
-- projection code feeds them all.
ALTER TABLE users
    ADD COLUMN metier TEXT CHECK (metier IS NULL OR char_length(metier) BETWEEN 1 AND 100);

ALTER TABLE planning_users ADD COLUMN metier TEXT;
ALTER TABLE signalement_users ADD COLUMN metier TEXT;
ALTER TABLE pointages_users ADD COLUMN metier TEXT;
ALTER TABLE logistique_users ADD COLUMN metier TEXT;
ALTER TABLE documents_users ADD COLUMN metier TEXT;
ALTER TABLE planning_charge_users ADD COLUMN metier TEXT;
