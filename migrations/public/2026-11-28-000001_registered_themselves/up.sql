-- An account made by its holder through the API (registration, signup):
-- its e-mail address was typed, never proven to be theirs, so an import
-- does not take it for the arriving person of the same name and address
-- unless the password hash is the same too, or an operator confirmed it
-- (`tenant-admin user confirm`). Nothing recorded how the accounts already
-- here were made: they count as unproven; new ones are proven unless the
-- API makes them.
ALTER TABLE users ADD COLUMN registered_themselves BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ALTER COLUMN registered_themselves SET DEFAULT FALSE;
