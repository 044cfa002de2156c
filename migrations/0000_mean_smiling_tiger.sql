CREATE TABLE `instances` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_telegram_id` integer NOT NULL,
	`license` text NOT NULL,
	`bot_token_sealed` text NOT NULL,
	`webhook_secret_hash` text NOT NULL,
	`api_key_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`balance_micros` integer DEFAULT 0 NOT NULL,
	`out_of_credits` integer DEFAULT false NOT NULL,
	`projected_seq` integer DEFAULT 0 NOT NULL,
	`projected_at` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `instances_out_of_credits` ON `instances` (`out_of_credits`,`id`);--> statement-breakpoint
CREATE TABLE `ledger_entries` (
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
);
--> statement-breakpoint
CREATE INDEX `ledger_entries_created` ON `ledger_entries` (`instance_id`,`created_at`);