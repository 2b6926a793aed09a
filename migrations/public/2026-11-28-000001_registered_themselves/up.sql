-- An account made by its holder through the API (registration, signup):
-- its e-mail address was typed, never proven to be theirs, so an import
-- does not take it for the arriving person of the same name and address
-- unless the password hash is the same too, or an operator confirmed it
-- (`tenant-admin user confirm`). Accounts made before this column existed
-- are left as they were treated (false): nothing recorded how they were
-- made, and counting them unproven would hand every former member's rows
-- in a restore to nobody.
ALTER TABLE users ADD COLUMN registered_themselves BOOLEAN NOT NULL DEFAULT FALSE;
