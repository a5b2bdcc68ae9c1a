-- Where each person is (an IANA name): their digest comes in their morning, and the times
-- they read are in their zone. Everyone is in UTC until they choose.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
