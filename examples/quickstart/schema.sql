-- Quickstart schema: the events table, one partition per month.
-- Run with: clickhouse-client --multiquery < schema.sql
CREATE DATABASE IF NOT EXISTS quickstart;

CREATE TABLE IF NOT EXISTS quickstart.events (
    event_id    String,
    event_time  DateTime,
    event_date  Date,
    user_id     UInt64,
    event_type  String,
    page_url    String,
    referrer    String,
    country     String,
    device      String,
    duration_ms UInt32,
    properties  String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(event_date)
ORDER BY (event_type, user_id, event_time);
