ALTER TABLE users DROP COLUMN registered_themselves;
