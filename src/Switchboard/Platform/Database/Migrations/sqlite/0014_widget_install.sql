-- 0014_widget_install (SQLite): publishable keys keep their whole value (public by design: every page embedding the
-- widget shows it) so the dashboard's Widget page can print the install snippet again (issue 9 §3 "Widget").
-- Keys issued before this migration have none; the page offers a new one. Written by hand.

ALTER TABLE "api_keys" ADD COLUMN "PublishableKey" TEXT NULL;
