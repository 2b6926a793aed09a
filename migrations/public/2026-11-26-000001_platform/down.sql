DROP TABLE memberships;
DROP TABLE users;
DROP TABLE domains;
DROP TABLE tenants;
