-- An invitation ended before its time (withdrawn, replaced by a new one to
-- the same address, or sent by a member since removed or demoted) records
-- when, instead of having its expiry set to the time of ending: a check is
-- then a state, not a comparison of two servers' clocks. A server whose
-- clock ran behind the one that ended the invitation would otherwise still
-- find it pending. Invitations ended before this column existed had their
-- expiry set to the time of ending, so they stay expired.
ALTER TABLE invitations ADD COLUMN ended_at TIMESTAMPTZ;
DROP INDEX invitations_pending_idx;
CREATE INDEX invitations_pending_idx ON invitations (tenant_id, expires_at)
    WHERE accepted_at IS NULL AND ended_at IS NULL;
