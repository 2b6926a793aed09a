DROP TABLE attachments;
DROP TABLE notifications;
