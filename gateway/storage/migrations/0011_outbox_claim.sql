-- The claim reads due messages oldest first and stops after a window of them: on this index
-- (state, then due time, then the order's sequence) that is a range scan in the claim's own
-- order, so a claim costs the same with 100 messages waiting or 100,000. Before it, the two
-- states and the tie-break made every claim read and sort the whole backlog (300 ms a claim
-- at 100,000 pending: a dozen deliveries a second). It also serves what messages_due served.
CREATE INDEX messages_claim ON messages (state, next_attempt_at, ordering);
DROP INDEX messages_due
