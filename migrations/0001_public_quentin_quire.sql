CREATE TABLE `recharges` (
	`id` text PRIMARY KEY NOT NULL,
	`instance_id` text NOT NULL,
	`kind` text NOT NULL,
	`amount_micros` integer NOT NULL,
	`paid_micros` integer,
	`refunded_micros` integer DEFAULT 0 NOT NULL,
	`status` text NOT NULL,
	`invoice_id` text,
	`hosted_url` text,
	`pdf_url` text,
	`failure_code` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `recharges_instance_created` ON `recharges` (`instance_id`,`created_at`);