-- Delivered webhook payloads are emptied once `payload_retention_hours` old (the purge in
-- gateway/outbox/queue.py). Only the messages still to be emptied are in this index: the
-- purge reads just those, and the index stays about a retention period's deliveries.
CREATE INDEX messages_purgeable ON messages (delivered_at)
    WHERE state = 'delivered' AND payload != ''
