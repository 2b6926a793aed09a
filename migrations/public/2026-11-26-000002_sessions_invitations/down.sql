DROP TABLE invitations;
DROP TABLE refresh_tokens;
DROP TABLE refresh_families;
