-- Custom migration (drizzle-kit generate --custom: drizzle's schema cannot say WITHOUT ROWID).
-- ledger_entries becomes a WITHOUT ROWID table on its primary key (instance_id, seq): an entry is then one row
-- written instead of two (the table's row and the primary key's index row), and D1 bills each as a row written
-- (docs/benchmarks.md, item 3). Same columns, same key, same default; the entries are copied over in key order.
CREATE TABLE `ledger_entries_without_rowid` (
	`instance_id` text NOT NULL,
	`seq` integer NOT NULL,
	`kind` text NOT NULL,
	`operation` text,
	`amount_micros` integer NOT NULL,
	`balance_after_micros` integer NOT NULL,
	`idempotency_key` text,
	`end_user_id` text,
	`reference` text,
	`memo` text,
	`created_at` integer NOT NULL,
	`copied_at` integer DEFAULT (unixepoch() * 1000) NOT NULL,
	PRIMARY KEY(`instance_id`, `seq`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `ledger_entries_without_rowid`
	(instance_id, seq, kind, operation, amount_micros, balance_after_micros, idempotency_key, end_user_id, reference, memo, created_at, copied_at)
	SELECT instance_id, seq, kind, operation, amount_micros, balance_after_micros, idempotency_key, end_user_id, reference, memo, created_at, copied_at
	FROM `ledger_entries` ORDER BY instance_id, seq;
--> statement-breakpoint
DROP TABLE `ledger_entries`;
--> statement-breakpoint
ALTER TABLE `ledger_entries_without_rowid` RENAME TO `ledger_entries`;
