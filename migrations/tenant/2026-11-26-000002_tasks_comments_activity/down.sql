DROP TABLE activity;
DROP TABLE comments;
DROP TABLE tasks;
