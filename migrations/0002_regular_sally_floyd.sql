DROP INDEX `ledger_entries_created`;--> statement-breakpoint
DROP INDEX `instances_out_of_credits`;--> statement-breakpoint
CREATE INDEX `instances_out_of_credits` ON `instances` (`id`) WHERE "instances"."out_of_credits" = 1;