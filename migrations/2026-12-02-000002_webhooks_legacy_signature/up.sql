-- The legacy X-Hub-Chantier-Signature header (an HMAC of the body alone: no
-- timestamp, no id, so a captured request verifies forever) becomes opt-in
-- per webhook. Webhooks that exist now keep it: their receivers may check
-- it, and dropping it silently would make them refuse every delivery. New
-- webhooks get only the Standard Webhooks headers unless they ask for it.
-- (Added with DEFAULT true so existing rows take true without a rewrite,
-- then the default becomes false for new rows; one transaction.)
ALTER TABLE webhooks ADD COLUMN legacy_signature BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE webhooks ALTER COLUMN legacy_signature SET DEFAULT false;
