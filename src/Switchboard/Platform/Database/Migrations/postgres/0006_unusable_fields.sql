-- 0006_unusable_fields (PostgreSQL): a provider event records the JSON paths of the fields that could not be used (text
-- with a lone surrogate, invalid UTF-8 or U+0000; non-finite or out-of-range numbers and times), as a JSON array.
ALTER TABLE call_events ADD "UnusableFields" text;
