DROP INDEX invitations_pending_idx;
UPDATE invitations SET expires_at = ended_at WHERE ended_at IS NOT NULL AND ended_at < expires_at;
ALTER TABLE invitations DROP COLUMN ended_at;
CREATE INDEX invitations_pending_idx ON invitations (tenant_id, expires_at) WHERE accepted_at IS NULL;
