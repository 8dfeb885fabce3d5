-- Foreign keys checked at commit where the same transaction then updates
-- the row they point at: a post's statuses.account_id and the author's
-- statuses_count, a favourite and the status's favourites_count, a reply
-- and replies_count, a boost and reblogs_count, a follow and both
-- accounts' counts (issue 4).
--
-- An immediate check takes a KEY SHARE lock on the row at the end of the
-- INSERT.  Sixteen posts of one account at a time then had sixteen such
-- lockers on the author's row besides the one updating it, and every new
-- locker, and every update, wrote a new multixact with all the others as
-- members: the backends queued on the multixact SLRU, and posting slowed
-- from 420 to 150 posts/s in three five-second runs.  Checked at commit,
-- after the update, the lock is the transaction's own and nothing is
-- shared: 510-560 posts/s, p99 80-92 ms, run after run.  What the keys
-- enforce is unchanged; a violation is still refused, at the commit of
-- the statement's transaction.

ALTER TABLE statuses
    ALTER CONSTRAINT statuses_account_id_fkey DEFERRABLE INITIALLY DEFERRED,
    ALTER CONSTRAINT statuses_in_reply_to_account_id_fkey
        DEFERRABLE INITIALLY DEFERRED,
    ALTER CONSTRAINT statuses_in_reply_to_id_fkey DEFERRABLE INITIALLY DEFERRED,
    ALTER CONSTRAINT statuses_reblog_of_id_fkey DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE favourites
    ALTER CONSTRAINT favourites_status_id_fkey DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE follows
    ALTER CONSTRAINT follows_account_id_fkey DEFERRABLE INITIALLY DEFERRED,
    ALTER CONSTRAINT follows_target_account_id_fkey
        DEFERRABLE INITIALLY DEFERRED;

-- the rows a post writes before the author's counter: its poll, its
-- idempotency key, its mentions' notifications, its deliveries
ALTER TABLE polls
    ALTER CONSTRAINT polls_account_id_fkey DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE idempotency_keys
    ALTER CONSTRAINT idempotency_keys_account_id_fkey
        DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE notifications
    ALTER CONSTRAINT notifications_from_account_id_fkey
        DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE delivery_activities
    ALTER CONSTRAINT delivery_activities_account_id_fkey
        DEFERRABLE INITIALLY DEFERRED;
