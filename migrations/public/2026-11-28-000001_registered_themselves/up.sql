-- An account made by its holder through the API (registration, signup):
-- its e-mail address was typed, never proven to be theirs, so an import
-- does not take it for the arriving person of the same name and address
-- unless the password hash is the same too. Accounts made before this
-- column existed are left as they were treated (false).
ALTER TABLE users ADD COLUMN registered_themselves BOOLEAN NOT NULL DEFAULT FALSE;
